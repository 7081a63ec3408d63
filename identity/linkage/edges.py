"""Edges that need no model (exact agreement, reviewers' decisions), and the edges that hold each cluster
together, kept for explaining it."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from core.lake import table_exists
from identity.linkage.spec import LinkSpec


def to_arrow(result) -> pa.Table:
    return result.read_all() if hasattr(result, "read_all") else result


def read_decisions(lake_con: duckdb.DuckDBPyConnection, entity: str) -> list[tuple[str, str, str]]:
    table = f"{entity}_review_decisions"
    if not table_exists(lake_con, "identity", table):
        return []
    # the newest decision on a pair stands; "unsure" and a withdrawn decision leave the pair to the model
    return lake_con.execute(f"""select unique_id_l, unique_id_r, decision from (
        select * from lake.identity.{table} qualify row_number() over (partition by unique_id_l, unique_id_r
            order by decided_at desc) = 1) where decision in ('match', 'no_match')""").fetchall()


def exact_edges(work: duckdb.DuckDBPyConnection, spec: LinkSpec, only: str | None = None) -> list[tuple]:
    """Records identical on every exact-agreement field, as certain scored edges (still under the guard);
    ``only`` limits them to groups holding a record of that table."""
    if not spec.exact_agreement:
        return []
    cols = ", ".join(spec.exact_agreement)
    where = " and ".join(f"{c} is not null" for c in spec.exact_agreement)
    if only:
        where += f" and ({cols}) in (select ({cols}) from link_input where unique_id in (select unique_id from {only}))"
    return [(a, b, 1.0) for a, b in work.execute(f"""
        select first_value(unique_id) over (partition by {cols} order by unique_id) as head, unique_id
        from link_input where {where}
        qualify head <> unique_id""").fetchall()]


EDGE_COLUMNS = ("unique_id_l", "unique_id_r", "edge", "key_column", "match_probability")


def cluster_edges(roots: dict[str, str], key_edges: list[tuple[str, str, str]], scored: list[tuple],
                  exact: list[tuple], decisions: list[tuple[str, str, str]]) -> pa.Table:
    """Every edge whose two records ended in the same cluster: a shared key (``key``, with its column), a
    reviewer's match (``reviewer``), agreement on every exact field (``exact``), a score (``score``, with its
    probability; also those under the link threshold, which add to the evidence). What the explanation and the
    reviewer's cluster view show."""
    seen: dict[tuple[str, str], tuple] = {}

    def add(a: str, b: str, edge: str, key: str | None, p: float | None) -> None:
        ra, rb = roots.get(a), roots.get(b)
        if ra is None or ra != rb or a == b:
            return
        pair = (a, b) if a < b else (b, a)
        if pair not in seen or edge in ("key", "reviewer"):
            seen[pair] = (*pair, edge, key, p)

    for a, b, p in scored:
        add(a, b, "score", None, float(p))
    for a, b, _p in exact:
        add(a, b, "exact", None, None)
    for a, b, key in key_edges:
        add(a, b, "key", key, None)
    for a, b, d in decisions:
        if d == "match":
            add(a, b, "reviewer", None, None)
    rows = list(seen.values())
    return pa.table({name: pa.array([r[i] for r in rows], type=pa.float64() if name == "match_probability"
                                     else pa.string()) for i, name in enumerate(EDGE_COLUMNS)})
