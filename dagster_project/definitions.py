"""The OneSource code location: only assembles what dagster_project/defs/ defines."""


import dagster as dg

from dagster_project.defs import dbt, identity, ingestion, maintenance, publish
from ingestion.contracts import contracts


def build_definitions() -> dg.Definitions:
    dbt_assets, dbt_resource = dbt.build()
    ingest_jobs = {
        system: dg.define_asset_job(f"ingest_{system}", selection=dg.AssetSelection.assets(
            *[ingestion.bronze_key(t) for t in contract.tables]),
            partitions_def=ingestion.DAILY if contract.connector != "database" else None)
        for system, contract in contracts().items()
    }
    partitioned = [ingestion.bronze_key(t) for c in contracts().values() if c.connector != "database"
                   for t in c.tables]
    ingest_files = dg.define_asset_job("ingest_deliveries", selection=dg.AssetSelection.assets(*partitioned),
                                       partitions_def=ingestion.DAILY,
                                       description="Every file-based system's deliveries for a day or a range.")
    after_files = dg.define_asset_job(
        "refresh_after_deliveries", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*partitioned),
        description="The contract database, then everything downstream of bronze.")
    downstream = dg.define_asset_job(
        "nightly_refresh", selection=dg.AssetSelection.all() - dg.AssetSelection.groups("bronze"),
        description="Everything downstream of bronze: dbt staging, linkage, marts, open data, dashboards.")
    # the nightly run relinks everything (EM retrained); runs after deliveries link only what is new
    nightly = dg.ScheduleDefinition(name="nightly", job=downstream, cron_schedule="0 2 * * *",
                                    execution_timezone="Asia/Tokyo", default_status=dg.DefaultScheduleStatus.RUNNING,
                                    run_config=identity.FULL_RELINK)
    return dg.Definitions(
        assets=[*ingestion.build_assets(), *dbt_assets, *identity.build_assets(), *publish.build_assets()],
        asset_checks=[*ingestion.build_checks(), *identity.build_checks()],
        jobs=[*ingest_jobs.values(), ingest_files, after_files, downstream, maintenance.lake_maintenance],
        schedules=[nightly, maintenance.build_schedule()],
        sensors=ingestion.build_sensors(ingest_jobs),
        resources={"dbt": dbt_resource},
    )


defs = build_definitions()
