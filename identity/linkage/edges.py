"""Edges that need no model: deterministic keys, exact agreement, reviewers' decisions."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from identity.linkage.spec import LinkSpec


def deterministic_edges(work: duckdb.DuckDBPyConnection, keys: tuple[str, ...],
                        touched_by: str | None = None) -> list[tuple[str, str]]:
    """Records sharing a value of a deterministic key, each chained to the first record of its group;
    ``touched_by`` (a table of unique_id) limits them to the groups holding one of those records."""
    union = " union all ".join(
        f"select unique_id, '{k}:' || {k} as k from all_records where {k} is not null" for k in keys)
    where = (f"where k in (select k from keyed where unique_id in (select unique_id from {touched_by}))"
             if touched_by else "")
    rows = work.execute(f"""
        with keyed as ({union})
        select first_value(unique_id) over (partition by k order by unique_id) as head, unique_id
        from keyed {where} qualify head <> unique_id
    """).fetchall()
    return [(a, b) for a, b in rows]


def to_arrow(result) -> pa.Table:
    return result.read_all() if hasattr(result, "read_all") else result


def read_decisions(lake_con: duckdb.DuckDBPyConnection, entity: str) -> list[tuple[str, str, str]]:
    table = f"{entity}_review_decisions"
    exists = lake_con.execute("select count(*) from duckdb_tables() where database_name = 'lake' and schema_name = "
                              "'identity' and table_name = ?", [table]).fetchone()[0]
    if not exists:
        return []
    return lake_con.execute(f"select unique_id_l, unique_id_r, decision from lake.identity.{table} qualify "
                            "row_number() over (partition by unique_id_l, unique_id_r order by decided_at desc) = 1"
                            ).fetchall()


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
