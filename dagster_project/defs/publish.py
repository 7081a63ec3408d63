"""Open data files and dashboards, from the marts."""


import dagster as dg

from onesource import lake
from onesource.settings import get_settings

MARTS = [["marts", "opendata", "population_by_chome_age_sex"], ["marts", "opendata", "businesses_by_town_industry"]]
DASHBOARD_MARTS = [["marts", "kpi", "dx_kpi_monthly"], ["marts", "kpi", "dx_milestones"],
                   ["marts", "once_only", "once_only_attachments"], ["marts", "once_only", "once_only_applications"],
                   ["marts", "opendata", "population_by_chome_age_sex"]]


@dg.asset(key=["opendata", "city", "files"], group_name="opendata", owners=["team:DX推進課"], deps=MARTS,
          kinds={"csv"}, description="自治体標準オープンデータセット files (suppressed) and their DCAT-AP catalog.")
def opendata_files() -> dg.MaterializeResult:
    from publish.opendata import publish

    out = get_settings().home / "opendata"
    con = lake.connect()
    try:
        files = publish(con, out)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={k: dg.MetadataValue.path(str(v)) for k, v in files.items()})


@dg.asset(key=["dashboards", "city", "pages"], group_name="dashboards", owners=["team:DX推進課"],
          deps=DASHBOARD_MARTS, kinds={"html"}, description="Dashboards: DX KPIs, population, once-only.")
def dashboard_pages() -> dg.MaterializeResult:
    from publish.dashboards import build

    out = get_settings().home / "dashboards"
    con = lake.connect(read_only=True)
    try:
        pages = build(con, out)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={k: dg.MetadataValue.path(str(v)) for k, v in pages.items()})


API_MARTS = [["marts", "core", "dim_person"], ["marts", "core", "dim_business"],
             ["marts", "departments", "resident_tax_by_person"], ["marts", "departments", "kokuho_enrolment"],
             ["marts", "departments", "contracts_by_business"], ["marts", "departments", "subsidies_by_applicant"]]


@dg.asset(key=["serving", "api", "release"], group_name="serving", owners=["team:DX推進課"],
          deps=[*API_MARTS, opendata_files.key, dashboard_pages.key], kinds={"ducklake"},
          description="Marks the lake snapshot whose marts are complete as a release; the consented-data API "
                      "serves the newest release, so a refresh in progress is never half visible.")
def api_release(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from onesource.releases import mark_release

    con = lake.connect()
    try:
        rel = mark_release(con, f"dagster run {context.run_id}")
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"release_id": rel.release_id, "snapshot_id": rel.snapshot_id})


def build_assets() -> list[dg.AssetsDefinition]:
    return [opendata_files, dashboard_pages, api_release]
