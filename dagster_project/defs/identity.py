"""The linkage between the dbt staging models and the marts."""


import os
from pathlib import Path

import dagster as dg

from onesource import lake
from onesource.settings import get_settings

ENTITIES = ("person", "business")


class LinkConfig(dg.Config):
    """Daily runs link new and changed records onto the known clusters; the nightly run relinks all."""

    incremental: bool = True


FULL_RELINK = {"ops": {"link": {"config": {"incremental": False}}}}


def build_assets() -> list[dg.AssetsDefinition]:
    specs = [dg.AssetSpec(["identity", e, "membership"], group_name="identity", owners=["team:DX推進課"],
                          deps=[dg.AssetKey(["identity", e, "records"])], kinds={"splink", "duckdb"},
                          description=f"Stable {e}_id per source record: deterministic keys, then Splink trained "
                                      f"by EM, the cannot-link guard and reviewers' decisions (identity/linkage.py).")
             for e in ENTITIES]

    @dg.multi_asset(specs=specs, name="link", description="名寄せ: link person and business records")
    def link(context: dg.AssetExecutionContext, config: LinkConfig):
        from identity.run import link_all

        con = lake.connect()
        try:
            results = link_all(con, get_settings(), incremental=config.incremental)
        finally:
            con.close()
        for entity, (run_id, r) in results.items():
            yield dg.MaterializeResult(asset_key=["identity", entity, "membership"], metadata={
                "run_id": run_id, "records": r.records, "clusters": r.clusters, "scored_pairs": r.scored_pairs,
                "probabilistic_links": r.probabilistic_links, "blocked_by_guard": r.blocked_by_guard,
                "review_pairs": r.review_pairs, "seconds": r.seconds,
                "match_weights_chart": dg.MetadataValue.path(str(r.chart_path)) if r.chart_path else "none"})

    return [link]


def _quality(entity: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=["identity", entity, "membership"], name="linkage_quality",
                    description="Pairwise precision, recall and F1 against the truth files when ONESOURCE_TRUTH_DIR "
                                "names them (simulated cities); reported as not configured otherwise.")
    def quality() -> dg.AssetCheckResult:
        from identity.quality import pairwise

        truth = os.environ.get("ONESOURCE_TRUTH_DIR")
        if not truth or not (Path(truth) / f"{entity}_truth.csv").exists():
            return dg.AssetCheckResult(passed=True, metadata={"truth": "not configured"})
        con = lake.connect(read_only=True)
        try:
            built = con.execute("select count(*) from duckdb_tables() where database_name = 'lake' and "
                                "schema_name = 'marts' and table_name = ?", [f"{entity}_source_xref"]).fetchone()[0]
            if not built:
                return dg.AssetCheckResult(passed=True, metadata={"truth": "marts not built yet"})
            q = pairwise(con, Path(truth) / f"{entity}_truth.csv", entity)
        finally:
            con.close()
        return dg.AssetCheckResult(passed=q.f1 >= 0.95, metadata={
            "precision": round(q.precision, 4), "recall": round(q.recall, 4), "f1": round(q.f1, 4),
            "records_scored": q.records_scored})
    return quality


def build_checks() -> list[dg.AssetChecksDefinition]:
    return [_quality(e) for e in ENTITIES]
