"""The clerical review queue: pairs scored in the uncertain band, and key conflicts, with both sides' values."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from identity.linkage.conflicts import KeyConflict, pair_columns
from identity.linkage.edges import to_arrow
from identity.linkage.spec import LinkageConfig, LinkSpec


def review_queue(work: duckdb.DuckDBPyConnection, prediction_tables: list[str], spec: LinkSpec,
                  config: LinkageConfig, decisions: list[tuple[str, str, str]], roots: dict[str, str],
                  conflicts: list[KeyConflict] = ()) -> pa.Table:
    """Scored pairs in the uncertain band (reason ``uncertain_score``) and records refused a key link
    (``key_conflict``: the record and its key's anchor, with the evidence weight against them), field by
    field, that neither a stronger link nor a reviewer settled."""
    compared = [c for c in spec.compared if c not in ("unique_id",)]
    sides = pair_columns(compared)
    parts = []
    if prediction_tables:
        gammas = [c for c in work.execute(f"select * from {prediction_tables[0]} limit 0").fetchdf().columns
                  if c.startswith("gamma_")]
        cols = ["unique_id_l", "unique_id_r", "match_probability", "match_weight", *gammas]
        union = " union all ".join(f"select {', '.join(cols)} from {t}" for t in prediction_tables)
        parts.append(f"""
            select p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight,
                   {''.join(f'p.{g}, ' for g in gammas)}'uncertain_score' as reason,
                   null::varchar as suspect_unique_id, null::varchar as suspect_key, {sides}
            from ({union}) p
            join all_records l on l.unique_id = p.unique_id_l
            join all_records r on r.unique_id = p.unique_id_r
            where p.match_probability < {float(config.link)!r}""")
    if conflicts:
        work.register("conflicts_arrow", pa.table({
            "member": [c.unique_id for c in conflicts], "anchor": [c.anchor for c in conflicts],
            "key_column": [c.key_column for c in conflicts],
            "weight": pa.array([c.evidence_weight for c in conflicts], type=pa.float64())}))
        parts.append(f"""
            select least(c.member, c.anchor) as unique_id_l, greatest(c.member, c.anchor) as unique_id_r,
                   null::double as match_probability, c.weight as match_weight, 'key_conflict' as reason,
                   c.member as suspect_unique_id, c.key_column as suspect_key, {sides}
            from conflicts_arrow c
            join all_records l on l.unique_id = least(c.member, c.anchor)
            join all_records r on r.unique_id = greatest(c.member, c.anchor)""")
    if not parts:
        return pa.table({})
    review = to_arrow(work.execute(
        " union all by name ".join(f"({p})" for p in parts)
        + " order by reason, match_probability desc nulls last, match_weight, unique_id_l, unique_id_r").arrow())
    if conflicts:
        work.unregister("conflicts_arrow")
    decided = {(a, b) for a, b, _d in decisions} | {(b, a) for a, b, _d in decisions}
    # pairs already joined by stronger evidence, or already decided, are not worth a reviewer's time
    keep = [roots.get(a, a) != roots.get(b, b) and (a, b) not in decided
            for a, b in zip(review.column("unique_id_l").to_pylist(), review.column("unique_id_r").to_pylist())]
    return review.filter(pa.array(keep, type=pa.bool_()))
