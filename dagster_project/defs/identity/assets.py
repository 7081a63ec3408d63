"""The linkage stage as an asset: stable ids per source record, for persons and businesses."""

import dagster as dg

from dagster_project.defs.resources import OWNER, Platform
from refresh import sequence

ENTITIES = ("person", "business")


def identity_key(entity: str, table: str) -> dg.AssetKey:
    """``[identity, <entity>, <entity>_<table>]``: the last part names the lake's table (``identity.person_membership``),
    so a graph node, which shows only the last part, says whose membership it is."""
    return dg.AssetKey(["identity", entity, f"{entity}_{table}"])


class LinkConfig(dg.Config):
    """Daily runs link new and changed records onto the known clusters; the nightly run relinks all."""

    incremental: bool = True


FULL_RELINK = {"ops": {"link": {"config": {"incremental": False}}}}


def build_assets() -> list[dg.AssetsDefinition]:
    specs = [dg.AssetSpec(identity_key(e, "membership"), group_name="identity", owners=[OWNER],
                          deps=[identity_key(e, "records")], kinds={"splink", "duckdb"},
                          description=f"Stable {e}_id per source record: deterministic keys, then Splink trained "
                                      f"by EM, the cannot-link guard and reviewers' decisions (identity/linkage/).")
             for e in ENTITIES]
    specs += [dg.AssetSpec(identity_key(e, "key_conflicts"), group_name="identity", owners=[OWNER],
                           deps=[identity_key(e, "records")], kinds={"duckdb"},
                           description=f"{e.capitalize()} records whose deterministic key the evidence contradicts "
                                       "(a borrowed key): not merged on the key, queued for review, flagged.")
              for e in ENTITIES]

    @dg.multi_asset(specs=specs, name="link", description=f"{sequence.LINKAGE.description} (名寄せ)")
    def link(context: dg.AssetExecutionContext, config: LinkConfig, platform: Platform):
        results = sequence.link(platform.settings(), incremental=config.incremental)
        for entity, (run_id, r) in results.items():
            yield dg.MaterializeResult(asset_key=identity_key(entity, "membership"), metadata={
                "run_id": run_id, "records": r.records, "clusters": r.clusters, "scored_pairs": r.scored_pairs,
                "probabilistic_links": r.probabilistic_links, "blocked_by_guard": r.blocked_by_guard,
                "review_pairs": r.review_pairs, "key_conflicts": r.key_conflicts, "seconds": r.seconds,
                "match_weights_chart": dg.MetadataValue.path(str(r.chart_path)) if r.chart_path else "none"})
            yield dg.MaterializeResult(asset_key=identity_key(entity, "key_conflicts"),
                                       metadata={"run_id": run_id, "key_conflicts": r.key_conflicts})

    return [link]
