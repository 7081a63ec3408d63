"""Linkage quality against the truth files of a simulated city (pairwise precision, recall, F1)."""

import dagster as dg

from core import lake
from dagster_project.defs.identity.assets import ENTITIES, identity_key
from dagster_project.defs.resources import Platform


def _quality(entity: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=identity_key(entity, "membership"), name="linkage_quality",
                    description="Pairwise precision, recall and F1 against the truth files in ONESOURCE_TRUTH_DIR "
                                "(default home/truth; simulated cities); reported as not configured otherwise.")
    def quality(platform: Platform) -> dg.AssetCheckResult:
        from identity.quality import pairwise

        settings = platform.settings()
        truth = settings.truth_dir / f"{entity}_truth.csv"
        if not truth.exists():
            return dg.AssetCheckResult(passed=True, metadata={"truth": "not configured"})
        con = lake.connect(settings, read_only=True)
        try:
            built = con.execute("select count(*) from duckdb_tables() where database_name = 'lake' and "
                                "schema_name = 'marts' and table_name = ?", [f"{entity}_source_xref"]).fetchone()[0]
            if not built:
                return dg.AssetCheckResult(passed=True, metadata={"truth": "marts not built yet"})
            q = pairwise(con, truth, entity)
        finally:
            con.close()
        return dg.AssetCheckResult(passed=q.f1 >= 0.95, metadata={
            "precision": round(q.precision, 4), "recall": round(q.recall, 4), "f1": round(q.f1, 4),
            "records_scored": q.records_scored})
    return quality


def build_checks() -> list[dg.AssetChecksDefinition]:
    return [_quality(e) for e in ENTITIES]
