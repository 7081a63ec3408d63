"""Sensors: a delivery's ``_SUCCESS`` starts loading it; the contract database is read when it changed.

A sensor without a cursor (a new instance, or a lake built before the UI first started) begins past what
the lake's ledger already holds, so opening the UI on a built lake starts no run that would load nothing.
"""

import datetime as dt
import json

import dagster as dg
import duckdb

from dagster_project.defs.ingestion.assets import daily, partitioned
from ingestion.contracts import contracts
from onesource.core import lake
from onesource.core.lake import LAKE_ALIAS as L
from onesource.core.settings import Settings, get_settings


def _ledger(settings: Settings, system: str) -> tuple[set[str], dt.datetime | None]:
    """Deliveries of ``system`` the lake holds (loaded or re-sent), and when it last loaded one."""
    if settings.catalog_dsn is None and not settings.catalog_path.exists():
        return set(), None
    try:
        con = lake.connect(settings, read_only=True)
    except duckdb.Error:
        return set(), None
    try:
        rows = con.execute(f"select delivery, recorded_at from {L}.ops.deliveries where system = ? "
                           "and status in ('loaded', 'resend')", [system]).fetchall()
    except duckdb.CatalogException:  # nothing was ever loaded
        return set(), None
    finally:
        con.close()
    return {r[0] for r in rows}, max((r[1] for r in rows), default=None)


def _db_sensor(system: str, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{system}_changes", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Read the contract database when its file changed (SQLite), else hourly.")
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
        return dg.RunRequest(run_key=f"{system}:{stamp}")
    return db_sensor


def _read_since_changed(settings: Settings, system: str, path) -> bool:
    _, last = _ledger(settings, system)
    return last is not None and last.timestamp() >= path.stat().st_mtime


def _file_sensor(system: str, job, partitions: dg.DailyPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(name=f"{system}_deliveries", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Start loading a {system} delivery when its _SUCCESS appears.")
    def file_sensor(context: dg.SensorEvaluationContext):
        settings = get_settings()
        root = settings.landing_dir / system
        if not root.is_dir():
            return dg.SkipReason(f"no landing folder {root}")
        seen = set(json.loads(context.cursor)) if context.cursor else _ledger(settings, system)[0]
        keys = set(partitions.get_partition_keys())
        new = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
            if folder.name in seen or not (folder / "_SUCCESS").exists():
                continue
            key = f"{folder.name[:4]}-{folder.name[4:6]}-{folder.name[6:]}"
            if key in keys:
                new.append(key)
                seen.add(folder.name)
        context.update_cursor(json.dumps(sorted(seen)))
        if not new:
            return dg.SkipReason("no new closed delivery")
        if len(new) == 1:
            return dg.RunRequest(run_key=f"{system}:{new[0]}", partition_key=new[0])
        # several closed deliveries at once (a first start, a catch-up): one run over their range, in date order
        return dg.RunRequest(run_key=f"{system}:{new[0]}..{new[-1]}",
                             tags={"dagster/asset_partition_range_start": new[0],
                                   "dagster/asset_partition_range_end": new[-1]})
    return file_sensor


def build_sensors(settings: Settings, job_for: dict) -> list[dg.SensorDefinition]:
    partitions = daily(settings.partitions_start)
    return [_file_sensor(s, job_for[f"ingest_{s}"], partitions) if partitioned(c)
            else _db_sensor(s, job_for[f"ingest_{s}"]) for s, c in contracts().items()]
