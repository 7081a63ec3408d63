"""The clerical review queue: pairs scored in the uncertain band, with both sides' values."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from identity.linkage.edges import to_arrow
from identity.linkage.spec import LinkageConfig, LinkSpec


def review_queue(work: duckdb.DuckDBPyConnection, prediction_tables: list[str], spec: LinkSpec,
                  config: LinkageConfig, decisions: list[tuple[str, str, str]], roots: dict[str, str]) -> pa.Table:
    """Scored pairs in the uncertain band, field by field, that neither a stronger link nor a reviewer settled."""
    if not prediction_tables:
        return pa.table({})
    compared = [c for c in spec.compared if c not in ("unique_id",)]
    gammas = [c for c in work.execute(f"select * from {prediction_tables[0]} limit 0").fetchdf().columns
              if c.startswith("gamma_")]
    cols = ["unique_id_l", "unique_id_r", "match_probability", "match_weight", *gammas]
    union = " union all ".join(f"select {', '.join(cols)} from {t}" for t in prediction_tables)
    review = to_arrow(work.execute(f"""
        select p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight,
               {', '.join(f'p.{g}' for g in gammas)},
               {', '.join(f'l.{c} as {c}_l, r.{c} as {c}_r' for c in compared)}
        from ({union}) p
        join all_records l on l.unique_id = p.unique_id_l
        join all_records r on r.unique_id = p.unique_id_r
        where p.match_probability < ?
        order by p.match_probability desc, p.unique_id_l, p.unique_id_r
    """, [config.link]).arrow())
    decided = {(a, b) for a, b, _d in decisions} | {(b, a) for a, b, _d in decisions}
    # pairs already joined by stronger evidence, or already decided, are not worth a reviewer's time
    keep = [roots[a] != roots[b] and (a, b) not in decided
            for a, b in zip(review.column("unique_id_l").to_pylist(), review.column("unique_id_r").to_pylist())]
    return review.filter(pa.array(keep, type=pa.bool_()))
