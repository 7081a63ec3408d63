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


def build_assets() -> list[dg.AssetsDefinition]:
    return [opendata_files, dashboard_pages]
