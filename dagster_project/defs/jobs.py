"""Jobs, the schedules and the sensor that runs the refresh after loads made by hand.

The data team's day is one run: a system's sensor sees its closed delivery and starts ``daily_refresh`` for
it, together with the other systems' deliveries of that day that are closed too, the contract database and
everything downstream (staging, incremental linkage, marts, open data, dashboards, release), in one process
as `onesource refresh` runs it. ``ingest_<system>`` loads one system's deliveries without refreshing (a
reload, a backfill); ``refresh_after_loads`` then starts ``refresh_after_deliveries`` once no load is queued
or running. The nightly schedule relinks everything (EM retrained); the lake's retention policy runs after it.
"""

import dagster as dg

from core import clock
from dagster_project.defs.identity.assets import FULL_RELINK
from dagster_project.defs.ingestion.assets import bronze_key, partitioned
from dagster_project.defs.publish.assets import RELEASE_KEY
from ingestion.contracts import contracts

DAILY = "daily_refresh"
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]


def _keys(partitioned_only: bool) -> list[dg.AssetKey]:
    return [bronze_key(t) for c in contracts().values() if partitioned(c) or not partitioned_only for t in c.tables]


def build_jobs() -> dict:
    jobs = {f"ingest_{system}": dg.define_asset_job(
        f"ingest_{system}", selection=dg.AssetSelection.assets(*[bronze_key(t) for t in c.tables]),
        description=f"Load {system} deliveries ({c.name}).") for system, c in contracts().items()}
    files = _keys(partitioned_only=True)
    jobs[DAILY] = dg.define_asset_job(
        DAILY, selection=dg.AssetSelection.all(),
        description="The day in one run: the closed deliveries of the day (the systems a sensor names), the "
                    "contract database, staging, incremental linkage, marts, open data, dashboards, release.")
    jobs["refresh_after_deliveries"] = dg.define_asset_job(
        "refresh_after_deliveries", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*files),
        description="The daily refresh: the contract database, then everything downstream of bronze "
                    "(staging, incremental linkage, marts, open data, dashboards, release).")
    jobs["nightly_refresh"] = dg.define_asset_job(
        "nightly_refresh", selection=dg.AssetSelection.all() - dg.AssetSelection.groups("bronze"),
        description="Everything downstream of bronze with a full relink (EM retrained, every record re-clustered).")
    return jobs


def build_schedules(jobs: dict) -> list[dg.ScheduleDefinition]:
    return [dg.ScheduleDefinition(name="nightly", job=jobs["nightly_refresh"], cron_schedule="0 2 * * *",
                                  execution_timezone=clock.TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING,
                                  run_config=FULL_RELINK)]


def refresh_sensor(jobs: dict) -> dg.SensorDefinition:
    job = jobs["refresh_after_deliveries"]

    @dg.sensor(name="refresh_after_loads", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Start the daily refresh once the deliveries that arrived are loaded: bronze holds "
                           "something the newest release does not, and no load is queued or running.")
    def refresh_after_loads(context: dg.SensorEvaluationContext):
        records = context.instance.get_asset_records([*_keys(partitioned_only=False), RELEASE_KEY])

        def newest(keys) -> int:
            ids = [r.asset_entry.last_materialization_record.storage_id for r in records
                   if r.asset_entry.asset_key in keys and r.asset_entry.last_materialization_record]
            return max(ids, default=0)

        loaded, released = newest(set(_keys(partitioned_only=False))), newest({RELEASE_KEY})
        if loaded <= released:
            return dg.SkipReason("the newest release holds every load")
        active = context.instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE), limit=100)
        if any(r.job_name.startswith("ingest_") or r.job_name in (job.name, DAILY, "nightly_refresh") for r in active):
            return dg.SkipReason("loads or a refresh are still queued or running")
        return dg.RunRequest(run_key=f"after-load-{loaded}")

    return refresh_after_loads
