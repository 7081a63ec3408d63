"""dbt models as assets, keyed ``[layer, system, table]`` like the rest of the graph.

One ``@dbt_assets`` per dbt stage of the refresh sequence (staging before the linkage, marts after it),
selected by the stage's own selection. dbt runs in the run's process through the same function as
``onesource refresh`` (``refresh.sequence.dbt_build``): no dbt subprocess, no second start-up; its results
become materializations and asset checks (dbt tests) as dagster-dbt would report them (through dagster-dbt's
internals, dagster_project/internals.py). On the public framework path (``ONESOURCE_FRAMEWORK_PATH=public``)
dagster-dbt runs dbt its own way: ``DbtCliResource(...).cli(["build"], context=context).stream()``.
"""

import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from core import dbt
from core.environment import scoped_environ
from core.settings import Settings
from dagster_project import internals
from dagster_project.defs.dbt.project import project
from dagster_project.defs.identity.assets import identity_key
from dagster_project.defs.resources import OWNER, Platform
from refresh import sequence


class OneSourceTranslator(DagsterDbtTranslator):
    """Keys ``[layer, system, table]``, whose last part (all a graph node shows) is unique across the graph: the dbt
    model's own name where a layer repeats table names (``stg_juki__residents``, ``hoiku__applications``,
    ``analysis__households``), the lake's table name for the linkage (``person_membership``)."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, props: Mapping[str, Any]) -> dg.AssetKey:
        name = props["name"]
        if props["resource_type"] == "source":
            schema = props["schema"]
            if schema == "bronze":  # bronze.<system>__<entity>_current is a view of the bronze table
                system, entity = name.removesuffix("_current").split("__", 1)
                return dg.AssetKey(["bronze", system, entity])
            if schema == "identity":  # written by the linkage: identity.<entity>_<table>
                return identity_key(*name.split("_", 1))
            return dg.AssetKey([schema, "ingestion", name])
        layer = props["config"].get("schema") or props["schema"]
        if name.startswith("stg_"):
            return dg.AssetKey(["staging", name[4:].split("__", 1)[0], name])
        if name.startswith("int_") and name.endswith("_records_unioned"):
            return identity_key(name[4:].split("_", 1)[0], "records")
        if layer.startswith("product_"):  # a department's products: [products, <role>, <role>__<product>]
            return dg.AssetKey(["products", layer.removeprefix("product_"), name])
        if layer == "analysis":
            return dg.AssetKey(["analysis", "pseudonymized", name])
        folder = props["fqn"][-2] if len(props["fqn"]) > 2 else layer
        return dg.AssetKey([layer, folder, name.removeprefix("mart_")])

    def get_group_name(self, props: Mapping[str, Any]) -> str | None:
        return self.get_asset_key(props).path[0]

    def get_owners(self, props: Mapping[str, Any]):
        return [OWNER]


def _failed(stage: sequence.Stage, results: Iterable[tuple[str, str]]) -> dg.Failure:
    failed = [f"{name}: {status}" for name, status in results if status in ("error", "fail")]
    return dg.Failure(description=f"dbt build of the {stage.name} stage failed: {', '.join(failed[:10])}")


def _public_build(context: dg.AssetExecutionContext, settings: Settings, stage: sequence.Stage,
                  proj: DbtProject) -> Iterator[Any]:
    """dagster-dbt's own way: dbt in a process of its own (which parses the project afresh), its events
    through ``DbtCliInvocation.stream()``; the lake held as the sequence holds it for a dbt stage."""
    resource = DbtCliResource(project_dir=proj, dbt_executable=str(Path(sys.executable).parent / "dbt"))
    with sequence.transforming(settings):
        # dagster-dbt reads dbt's node events from its structured log: the console at info
        with scoped_environ({**dbt.prepare(settings), "DBT_LOG_LEVEL": "info"}):
            invocation = resource.cli(["build"], context=context, raise_on_error=False)
        yield from invocation.stream()
    if not invocation.is_successful():
        results = invocation.get_artifact("run_results.json").get("results", [])
        raise _failed(stage, ((r["unique_id"].rsplit(".", 1)[-1], r["status"]) for r in results))


def _stage_assets(settings: Settings, stage: sequence.Stage) -> dg.AssetsDefinition:
    proj = project(settings)

    @dbt_assets(manifest=proj.manifest_path, project=proj, select=stage.dbt_select, name=f"dbt_{stage.name}",
                dagster_dbt_translator=OneSourceTranslator())
    def assets(context: dg.AssetExecutionContext, platform: Platform):
        settings = platform.settings()
        if settings.framework_path == "public":
            yield from _public_build(context, settings, stage, proj)
            return
        selection = internals.dbt_selection(context, stage.dbt_select)
        try:
            result = sequence.dbt_build(settings, stage, selection=selection, check=False)
        except sequence.RefreshFailed as exc:
            raise dg.Failure(description=str(exc)) from None
        yield from internals.dbt_events(context, result)
        if not result.success:
            raise _failed(stage, ((r.node.name, str(r.status)) for r in getattr(result.result, "results", None) or []))

    return assets


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [_stage_assets(settings, stage) for stage in sequence.DBT_STAGES]
