"""Sensors: a delivery's ``_SUCCESS`` starts the day's run; the contract database is read when it changed.

A delivery the lake's ledger already holds is never new, however it was loaded: a sensor without a cursor
(a new instance, a lake built before the UI first started) begins past it, so opening the UI on a built
lake starts no run that would load nothing. The first sensor to see a day's closed deliveries starts one
``daily_refresh`` run for every system's closed deliveries of that day and everything downstream (one
process: the imports, the code location and the dbt start-up are paid once); the others find it queued
and skip. A change of the contract database starts the same job without deliveries.
"""

import datetime as dt
import json
import time
from pathlib import Path

import dagster as dg
import duckdb

from core import lake
from core.lake import LAKE_ALIAS as L
from core.settings import Settings, get_settings
from dagster_project.defs.ingestion.assets import DELIVERIES, bronze_key, delivery_key, partitioned
from dagster_project.defs.jobs import DAILY
from ingestion.contracts import contracts

SYSTEMS_TAG = "onesource/systems"  # the systems whose deliveries a run loads
WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]


_LEDGER_SECONDS = 5.0  # the sensors of one tick read the lake's ledger once between them
_ledger_read: dict[str, tuple[float, dict]] = {}


def _ledger(settings: Settings) -> dict[str, tuple[set[str], dt.datetime | None]]:
    """Per system, the deliveries the lake holds (loaded or re-sent) and when it last loaded one."""
    where = settings.catalog_dsn.get_secret_value() if settings.catalog_dsn else str(settings.catalog_path)
    read_at, held = _ledger_read.get(where, (0.0, {}))
    if time.monotonic() - read_at < _LEDGER_SECONDS:
        return held
    held = _read_ledger(settings)
    _ledger_read[where] = (time.monotonic(), held)
    return held


def _read_ledger(settings: Settings) -> dict[str, tuple[set[str], dt.datetime | None]]:
    if settings.catalog_dsn is None and not settings.catalog_path.exists():
        return {}
    try:
        con = lake.connect(settings, read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = con.execute(f"select system, delivery, recorded_at from {L}.ops.deliveries "
                           "where status in ('loaded', 'resend')").fetchall()
    except duckdb.CatalogException:  # nothing was ever loaded
        return {}
    finally:
        con.close()
    out: dict[str, tuple[set[str], dt.datetime | None]] = {}
    for system, delivery, at in rows:
        held, last = out.get(system, (set(), None))
        held.add(delivery)
        out[system] = (held, at if last is None or at > last else last)
    return out


def _db_sensor(system: str, daily, downstream: list[dg.AssetKey]) -> dg.SensorDefinition:
    @dg.sensor(name=f"{system}_changes", job=daily, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Read the contract database and refresh what depends on it when its file changed "
                           "(SQLite), else hourly.")
    def db_sensor(context: dg.SensorEvaluationContext):
        settings = get_settings()
        path = settings.landing_dir / system / f"{system}.sqlite"
        hour = int(dt.datetime.now().timestamp()) // 3600
        stamp = str(path.stat().st_mtime_ns) if path.exists() else str(hour)
        if context.cursor == stamp:
            return dg.SkipReason("no change")
        first_tick = context.cursor is None
        context.update_cursor(stamp)
        if first_tick and path.exists() and _read_since_changed(settings, system, path):
            return dg.SkipReason("the lake already read this version of the database")
        if _waiting_runs(context):
            return dg.SkipReason("a queued run reads the database when it starts")
        return dg.RunRequest(run_key=f"{system}:{stamp}", asset_selection=downstream)
    return db_sensor


def _read_since_changed(settings: Settings, system: str, path) -> bool:
    _, last = _ledger(settings).get(system, (set(), None))
    return last is not None and last.timestamp() >= path.stat().st_mtime


def _closed(root: Path, seen: set[str], keys: set[str] | None = None) -> list[str]:
    """Partition keys of the closed deliveries under ``root`` that are not in ``seen`` (and among ``keys`` when
    given), oldest first."""
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit() and len(p.name) == 8):
        key = delivery_key(folder.name)
        if folder.name not in seen and (folder / "_SUCCESS").exists() and (keys is None or key in keys):
            out.append(key)
    return out


def _waiting_runs(context: dg.SensorEvaluationContext) -> list:
    """Runs that load and are queued, not started yet (they will read what is closed now)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # evaluated without an instance (a unit test)
        return []
    return [r for r in instance.get_runs(filters=dg.RunsFilter(statuses=WAITING), limit=200)
            if r.job_name.startswith("ingest_") or r.job_name == DAILY]


def _range(keys: list[str]) -> dict:
    if len(keys) == 1:
        return {"partition_key": keys[0]}
    return {"tags": {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}}


def _file_sensor(system: str, daily, file_systems: dict[str, list[dg.AssetKey]], downstream: list[dg.AssetKey]) -> dg.SensorDefinition:
    @dg.sensor(name=f"{system}_deliveries", job=daily, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Start the day's run when a {system} delivery's _SUCCESS appears: the other systems' "
                           "deliveries of the same days when they are closed too, and the refresh after them, in "
                           "one run.")
    def file_sensor(context: dg.SensorEvaluationContext):
        settings = get_settings()
        root = settings.landing_dir / system
        if not root.is_dir():
            return dg.SkipReason(f"no landing folder {root}")
        seen = set(json.loads(context.cursor)) if context.cursor else None
        new = _closed(root, seen or set())
        ledger = _ledger(settings) if new or seen is None else {}
        # what the lake already holds is not new, however it was loaded (`onesource refresh`, another run)
        held = ledger.get(system, (set(), None))[0]
        new = [k for k in new if k.replace("-", "") not in held]
        seen = (seen or set()) | held | {k.replace("-", "") for k in new}
        context.update_cursor(json.dumps(sorted(seen)))
        if not new:
            return dg.SkipReason("no new closed delivery")
        waiting = _waiting_runs(context)
        for run in waiting:
            if system in run.tags.get(SYSTEMS_TAG, "").split(",") and set(new) <= _run_days(run, context):
                return dg.SkipReason(f"run {run.run_id} (queued) loads these deliveries")
        # the other systems whose deliveries of exactly these days are closed, not loaded and not queued: one run
        queued = {(s_, d) for r in waiting for s_ in r.tags.get(SYSTEMS_TAG, "").split(",") for d in _run_days(r, context)}
        together = [system] + [
            other for other in file_systems if other != system
            and _closed(settings.landing_dir / other, ledger.get(other, (set(), None))[0], set(new)) == new
            and not any((other, d) for d in new if (other, d) in queued)]
        where = _range(new)
        where["tags"] = {**where.get("tags", {}), SYSTEMS_TAG: ",".join(together)}
        run_key = f"{system}:{new[0]}" + (f"..{new[-1]}" if len(new) > 1 else "")
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, **where,
                                        asset_selection=[k for s_ in together for k in file_systems[s_]] + downstream)],
            dynamic_partitions_requests=[DELIVERIES.build_add_request(_new_days(context, settings.landing_dir, new))])
    return file_sensor


def _new_days(context: dg.SensorEvaluationContext, landing: Path, requested: list[str]) -> list[str]:
    """The delivery days to add as partitions with a run request: every closed delivery day of the whole landing
    zone that is not a partition yet, in date order. A range of dynamic partitions runs in the order they were
    added, so every sensor adds every system's days, not only its own: the days stay in date order as long as
    deliveries arrive in date order (a delivery for a day no system has delivered yet, older than a day already
    added, would come after it)."""
    closed = {delivery_key(p.parent.name) for p in landing.glob("*/*/_SUCCESS")
              if p.parent.name.isdigit() and len(p.parent.name) == 8}
    try:
        known = set(context.instance.get_dynamic_partitions(DELIVERIES.name))
    except dg.DagsterInvariantViolationError:  # evaluated without an instance (a unit test)
        known = set()
    return sorted((closed | set(requested)) - known)


def _run_days(run, context: dg.SensorEvaluationContext) -> set[str]:
    """The delivery days a queued run loads: its partition, or the partitions of its range (delivery days are
    added in date order, so a range holds the days between its ends)."""
    if "dagster/partition" in run.tags:
        return {run.tags["dagster/partition"]}
    start, end = run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")
    if not start:
        return set()
    return {k for k in context.instance.get_dynamic_partitions(DELIVERIES.name) if start <= k <= (end or start)}


def build_sensors(settings: Settings, job_for: dict, every_key: list[dg.AssetKey]) -> list[dg.SensorDefinition]:
    """A sensor per system, each starting ``daily_refresh``; ``every_key``: the code location's asset keys."""
    file_systems = {s: [bronze_key(t) for t in c.tables] for s, c in contracts().items() if partitioned(c)}
    files = {k for keys in file_systems.values() for k in keys}
    downstream = [k for k in every_key if k not in files]  # the contract database and all below bronze
    return [_file_sensor(s, job_for[DAILY], file_systems, downstream)
            if s in file_systems else _db_sensor(s, job_for[DAILY], downstream) for s in contracts()]
