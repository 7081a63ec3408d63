"""dbt models as assets, keyed ``[layer, system, table]`` like the rest of the graph.

One ``@dbt_assets`` per dbt stage of the refresh sequence (staging before the linkage, marts after it),
selected by the stage's own selection. dbt runs in the run's process through the same function as
``onesource refresh`` (``refresh.sequence.dbt_build``): no dbt subprocess, no second start-up; its results
become materializations and asset checks (dbt tests) as dagster-dbt would report them.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dbt.asset_utils import (
    get_asset_check_key_for_test,
    get_manifest_and_translator_from_dbt_assets,
    get_subset_selection_for_context,
)

from core.settings import Settings
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


_PASSED = {"success", "pass"}


def _events(context: dg.AssetExecutionContext, result: Any) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """dbt's run results as Dagster events: a materialization per model built, a check result per test."""
    manifest, translator, proj = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    selected_checks = set(context.selected_asset_check_keys)
    for r in getattr(result.result, "results", None) or []:
        uid, status = r.node.unique_id, str(r.status)
        meta = {"unique_id": uid, "execution_duration": round(float(r.execution_time or 0), 3)}
        rows = getattr(r.adapter_response, "get", lambda *_: None)("rows_affected")
        if rows is not None:
            meta["rows_affected"] = rows
        if uid.startswith("model.") and status in _PASSED:
            key = translator.get_asset_spec(manifest, uid, proj).key
            if key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=key, metadata=meta)
        elif uid.startswith("test."):
            check = get_asset_check_key_for_test(manifest, translator, uid, proj)
            if check is not None and check in selected_checks:
                yield dg.AssetCheckResult(
                    asset_key=check.asset_key, check_name=check.name, passed=status in _PASSED,
                    severity=dg.AssetCheckSeverity.WARN if status == "warn" else dg.AssetCheckSeverity.ERROR,
                    metadata={**meta, "status": status, "failures": int(r.failures or 0)})


def _stage_assets(settings: Settings, stage: sequence.Stage) -> dg.AssetsDefinition:
    proj = project(settings)

    @dbt_assets(manifest=proj.manifest_path, project=proj, select=stage.dbt_select, name=f"dbt_{stage.name}",
                dagster_dbt_translator=OneSourceTranslator())
    def assets(context: dg.AssetExecutionContext, platform: Platform):
        manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
        selection, indirect = get_subset_selection_for_context(
            context=context, manifest=manifest, select=stage.dbt_select, exclude=None, selector=None,
            dagster_dbt_translator=translator, current_dbt_indirect_selection_env=None)
        if indirect:
            selection = [*selection, "--indirect-selection", indirect]
        try:
            result = sequence.dbt_build(platform.settings(), stage, selection=selection, check=False)
        except sequence.RefreshFailed as exc:
            raise dg.Failure(description=str(exc)) from None
        yield from _events(context, result)
        if not result.success:
            failed = [f"{r.node.name}: {r.status}" for r in (getattr(result.result, "results", None) or [])
                      if str(r.status) in ("error", "fail")]
            raise dg.Failure(description=f"dbt build of the {stage.name} stage failed: {', '.join(failed[:10])}")

    return assets


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [_stage_assets(settings, stage) for stage in sequence.DBT_STAGES]
