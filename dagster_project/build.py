"""``onesource build``: the Dagster asset graph run on the platform's own instance, without the UI.

The same definitions and jobs the UI shows, recorded in the instance under ``$ONESOURCE_HOME/dagster``:
one ``daily_refresh`` run over the partition range the landing zone covers (every file-based system's
deliveries in date order, one lake transaction each; the contract database; everything downstream). Asset checks run with their assets. Afterwards ``onesource ui`` opens on a materialized graph,
and the sensors begin past what was loaded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from core import lake
from core.lake import LAKE_ALIAS as L
from core.settings import REPO_ROOT, Settings, get_settings
from dagster_project import internals, ui

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class BuildSummary:
    success: bool
    failed_asset: str | None = None
    failure: str | None = None
    rows_per_layer: dict[str, int] = field(default_factory=dict)
    quarantined_rows: int = 0
    checks: Counter = field(default_factory=Counter)
    failed_checks: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def _delivery_days(landing: Path) -> list[str]:
    return sorted({p.name for p in landing.glob("*/*") if p.is_dir() and p.name.isdigit() and len(p.name) == 8})


def _collect(result: dg.ExecutionResult, summary: BuildSummary) -> None:
    summary.run_ids.append(result.run_id)
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = event.event_specific_data
            name = f"{ev.asset_key.to_user_string()}:{ev.check_name}"
            if ev.passed:
                summary.checks["passed"] += 1
            else:
                sev = getattr(ev.severity, "value", str(ev.severity))
                summary.checks["failed" if sev == "ERROR" else "warned"] += 1
                summary.failed_checks.append(f"{name} ({sev.lower()})")
        if event.event_type_value == "STEP_FAILURE" and summary.failed_asset is None:
            summary.success = False
            summary.failed_asset = event.step_key
            err = event.event_specific_data.error
            summary.failure = err.message.strip() if err else "step failed"


def _count_rows(settings: Settings, summary: BuildSummary) -> None:
    con = lake.connect(settings, read_only=True)
    try:
        for schema, table in con.execute("select schema_name, table_name from duckdb_tables() "
                                         "where database_name = ? order by all", [L]).fetchall():
            n = con.execute(f'select count(*) from {L}.{schema}."{table}"').fetchone()[0]
            summary.rows_per_layer[schema] = summary.rows_per_layer.get(schema, 0) + n
        summary.quarantined_rows = summary.rows_per_layer.get("quarantine", 0)
        if con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = 'quarantine' "
                       "and table_name = 'rows'", [L]).fetchone()[0]:
            summary.quarantined_rows = con.execute(f"select count(*) from {L}.quarantine.rows").fetchone()[0]
    finally:
        con.close()


def run_build(landing: Path, settings: Settings | None = None, raise_on_error: bool = False) -> BuildSummary:
    from dagster_project.defs.ingestion.assets import DELIVERIES, delivery_key
    from dagster_project.defs.jobs import DAILY

    settings = (settings or get_settings()).model_copy(update={"landing": landing})
    run_config = {**QUIET, "resources": {"platform": {"config": {"landing": str(landing)}}}}
    summary = BuildSummary(success=True)
    with ui.open_instance(settings) as instance:
        wanted = [delivery_key(d) for d in _delivery_days(landing)]
        tags: dict[str, str] = {}
        if wanted:  # every delivery day is a partition (in date order), the run loads them all
            known = set(instance.get_dynamic_partitions(DELIVERIES.name))
            instance.add_dynamic_partitions(DELIVERIES.name, [k for k in wanted if k not in known])
            tags = {"dagster/asset_partition_range_start": wanted[0],
                    "dagster/asset_partition_range_end": wanted[-1]}
        # no deliveries yet: the contract database and everything downstream
        job = DAILY if wanted else "refresh_after_deliveries"
        if settings.framework_path == "public":  # Dagster's public API: only the Runs page lists this run
            from dagster_project.definitions import build_definitions

            res = build_definitions(settings).get_job_def(job).execute_in_process(
                run_config=run_config, instance=instance, tags=tags, raise_on_error=False)
        else:  # a run of the code location the UI serves, which the UI lists everywhere
            res = internals.execute_as_the_ui_would(instance, ui.LOCATION, REPO_ROOT, job, run_config, tags)
        if raise_on_error and not res.success:
            raise RuntimeError(f"Dagster run {res.run_id} of {job} failed")
        _collect(res, summary)
    _count_rows(settings, summary)
    return summary
