"""dbt models as assets (dagster-dbt), keyed ``[layer, system, table]`` like the rest of the graph.

The dbt project is split where Python runs in between: staging and the linkage input before the
linkage, the marts after it.
"""


import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from onesource.dbt import DBT_DIR, dbt_env

DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


class OneSourceTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, props: Mapping[str, Any]) -> dg.AssetKey:
        name = props["name"]
        if props["resource_type"] == "source":
            schema = props["schema"]
            if schema == "bronze":  # bronze.<system>__<entity>_current is a view of the bronze table
                system, entity = name.removesuffix("_current").split("__", 1)
                return dg.AssetKey(["bronze", system, entity])
            if schema == "identity":  # written by the linkage
                entity, table = name.split("_", 1)
                return dg.AssetKey(["identity", entity, table])
            return dg.AssetKey([schema, "ingestion", name])
        layer = props["config"].get("schema") or props["schema"]
        if name.startswith("stg_"):
            system, entity = name[4:].split("__", 1)
            return dg.AssetKey(["staging", system, entity])
        if name.startswith("int_") and name.endswith("_records_unioned"):
            return dg.AssetKey(["identity", name[4:].split("_", 1)[0], "records"])
        folder = props["fqn"][-2] if len(props["fqn"]) > 2 else layer
        return dg.AssetKey([layer, folder, name.removeprefix("mart_")])

    def get_group_name(self, props: Mapping[str, Any]) -> str | None:
        return self.get_asset_key(props).path[0]

    def get_owners(self, props: Mapping[str, Any]):
        return ["team:DX推進課"]


@functools.cache
def project() -> DbtProject:
    os.environ.update(dbt_env())
    proj = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target_path=os.environ["DBT_TARGET_PATH"])
    if not proj.manifest_path.exists():  # the manifest is generated, never committed: parse on first load
        from onesource.dbt import run_dbt

        result = run_dbt(["parse", "--quiet"])
        if not result.success:
            raise RuntimeError("dbt parse failed; run `onesource dbt parse` to see why")
    return proj


def build() -> tuple[list[dg.AssetsDefinition], DbtCliResource]:
    proj = project()
    translator = OneSourceTranslator()

    @dbt_assets(manifest=proj.manifest_path, project=proj, select="staging intermediate.identity",
                name="dbt_staging", dagster_dbt_translator=translator)
    def dbt_staging(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    @dbt_assets(manifest=proj.manifest_path, project=proj, select="marts intermediate.once_only",
                name="dbt_marts", dagster_dbt_translator=translator)
    def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    return [dbt_staging, dbt_marts], DbtCliResource(project_dir=proj, dbt_executable=DBT_EXECUTABLE)
