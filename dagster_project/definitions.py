"""The OneSource code location: only assembles what ``dagster_project/defs/`` defines.

Loaded lazily (``@dg.definitions``): importing this module reads no settings, writes nothing and parses
no dbt project; Dagster calls :func:`defs` when it loads the code location.
"""

from __future__ import annotations

import dagster as dg

from core.settings import Settings, get_settings
from dagster_project.defs import jobs, maintenance
from dagster_project.defs.dbt import assets as dbt_assets
from dagster_project.defs.identity import assets as identity_assets
from dagster_project.defs.identity import checks as identity_checks
from dagster_project.defs.ingestion import assets as bronze_assets
from dagster_project.defs.ingestion import sensors as bronze_sensors
from dagster_project.defs.publish import assets as publish_assets
from dagster_project.defs.resources import Platform


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or get_settings()
    all_jobs = jobs.build_jobs()
    dbt = dbt_assets.build_assets(settings)
    products = [k for a in dbt for k in a.keys if k.path[0] in ("products", "analysis")]
    assets = [*bronze_assets.build_assets(settings), *dbt, *identity_assets.build_assets(),
              *publish_assets.build_assets(products)]
    every_key = [k for a in assets for k in a.keys]
    return dg.Definitions(
        assets=assets,
        asset_checks=identity_checks.build_checks(),  # the bronze checks are the load's own (defs/ingestion)
        jobs=[*all_jobs.values(), maintenance.lake_maintenance, maintenance.access_log_witness],
        schedules=[*jobs.build_schedules(all_jobs), maintenance.build_schedule(), maintenance.build_witness_schedule()],
        sensors=[*bronze_sensors.build_sensors(settings, all_jobs, every_key), jobs.refresh_sensor(all_jobs)],
        resources={"platform": Platform()},
        # every step of a run in the run's own process: the lake takes one writer at a time anyway, and a
        # process per step would pay the imports (dbt, Great Expectations, Splink) again for each
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
