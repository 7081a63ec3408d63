"""Open-data files and dashboards from the marts, then the release the API serves."""

import dagster as dg

from dagster_project.defs.resources import OWNER, Platform
from refresh import sequence

MARTS = [["marts", "opendata", "population_by_chome_age_sex"], ["marts", "opendata", "households_by_chome"],
         ["marts", "opendata", "businesses_by_town_industry"]]
DASHBOARD_MARTS = [["marts", "kpi", "dx_kpi_monthly"], ["marts", "kpi", "dx_milestones"],
                   ["marts", "once_only", "once_only_attachments"], ["marts", "once_only", "once_only_applications"],
                   ["marts", "opendata", "population_by_chome_age_sex"]]
API_MARTS = [["marts", "core", "dim_person"], ["marts", "core", "dim_business"],
             ["marts", "departments", "resident_tax_by_person"], ["marts", "departments", "kokuho_enrolment"],
             ["marts", "departments", "contracts_by_business"], ["marts", "departments", "subsidies_by_applicant"]]


def _paths(files: dict) -> dict:
    return {k: dg.MetadataValue.path(str(v)) for k, v in files.items()}


@dg.asset(key=["opendata", "city", "files"], group_name="opendata", owners=[OWNER], deps=MARTS, kinds={"csv"},
          description="自治体標準オープンデータセット files (suppressed) and their DCAT-AP catalog.")
def opendata_files(platform: Platform) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata=_paths(sequence.publish_opendata(platform.settings())))


@dg.asset(key=["dashboards", "city", "pages"], group_name="dashboards", owners=[OWNER], deps=DASHBOARD_MARTS,
          kinds={"html"}, description="Dashboards: DX KPIs, population, once-only.")
def dashboard_pages(platform: Platform) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata=_paths(sequence.publish_dashboards(platform.settings())))


RELEASE_KEY = dg.AssetKey(["serving", "api", "release"])


def _release(products: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=RELEASE_KEY, group_name="serving", owners=[OWNER],
              deps=[*API_MARTS, *products, opendata_files.key, dashboard_pages.key], kinds={"ducklake"},
              description="Marks the lake snapshot whose marts and data products are complete as a release; the "
                          "consented-data API serves the newest release, so a refresh in progress is never half "
                          "visible.")
    def api_release(context: dg.AssetExecutionContext, platform: Platform) -> dg.MaterializeResult:
        rel = sequence.release(platform.settings(), f"dagster run {context.run_id}")
        return dg.MaterializeResult(metadata={"release_id": rel.release_id, "snapshot_id": rel.snapshot_id})

    return api_release


def build_assets(products: list[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    """The open data, the dashboards and the release, which waits for ``products`` too."""
    return [opendata_files, dashboard_pages, _release(products)]
