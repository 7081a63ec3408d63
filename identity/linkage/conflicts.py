"""Key conflicts: a deterministic key links two records only when the rest of the evidence does not contradict it.

A 宛名番号, 個人番号 token or 法人番号 is well-formed on every record that reaches linkage (a failing check digit is
flagged at ingestion), but a well-formed key can still be someone else's: a related firm's 法人番号 copied into a
vendor registration, a family member's 宛名番号 on a form. Every record sharing a key value is weighed against the
key's anchor (the record of the system that issues the key, else of the most authoritative system there) on the evidence of the
entity's model about who it is (``LinkSpec.not_key_evidence`` names what is no evidence: the keys, and a person's
address, which a family member whose 宛名番号 a form borrows shares), each level's match weight bounded (see
:func:`level_weight`). A record
whose evidence falls below ``LinkageConfig.key_conflict_weight`` is not linked on the key: its key does not guard
or chain, the clusterer forbids merging it with the anchor's cluster on a score alone, and the pair goes to
review with the reason ``key_conflict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from core.lake import table_exists
from identity.linkage.spec import LinkageConfig, LinkSpec

# whose word on each key counts most: the issuing system's record is the key's anchor, else the first of the
# others in this order (a vendor registers its own number; a form typed by staff comes last)
AUTHORITY = {"atena_bango": ("juki", "zei", "kokuho", "hojokin", "kosodate", "madoguchi"),
             "kojin_bango_token": ("juki", "zei", "hojokin"),
             "houjin_bango": ("houjin", "keiyaku", "hojokin")}


@dataclass(frozen=True)
class KeyConflict:
    unique_id: str  # the record carrying the suspect key
    anchor: str  # the record the key belongs to
    key_column: str
    key_value: str
    evidence_weight: float


def level_weight(level: dict, bound: float) -> float:
    """A level's match weight (log2 m/u), bounded to ±``bound``: EM on records that mostly agree drives some m
    probabilities to 1e-17, which would let one moved address outweigh a name and a birth date that agree."""
    if level.get("is_null_level"):
        return 0.0
    m, u = level.get("m_probability"), level.get("u_probability")
    if not m or not u:
        return 0.0
    return max(-bound, min(bound, math.log2(m / u)))


def level_case(comparison: dict, value, otherwise: str = "0") -> str:
    """One comparison of a Splink model as a SQL CASE over ``<col>_l`` / ``<col>_r`` columns: Splink's own level
    conditions in order (the first that holds wins), each level answered by ``value(index, level)``."""
    whens = []
    for i, level in enumerate(comparison.get("comparison_levels", [])):
        if level["sql_condition"].strip().upper() == "ELSE":
            otherwise = value(i, level)
        else:
            whens.append(f"when {level['sql_condition']} then {value(i, level)}")
    return f"(case {' '.join(whens)} else {otherwise} end)" if whens else otherwise


def pair_columns(columns: list[str], left: str = "l", right: str = "r") -> str:
    """The select list that puts two records side by side as Splink's conditions read them."""
    return ", ".join(f"{left}.{c} as {c}_l, {right}.{c} as {c}_r" for c in columns)


def evidence_sql(model: dict, bound: float, not_evidence: tuple[str, ...]) -> str:
    """The bounded match weight of every comparison that is evidence about a key (all but ``not_evidence``),
    as one SQL expression over ``<col>_l`` and ``<col>_r`` columns."""
    terms = [level_case(c, lambda _i, level: repr(level_weight(level, bound)))
             for c in model.get("comparisons", []) if c.get("output_column_name") not in not_evidence]
    return " + ".join(terms) or "0"


def key_pairs(work: duckdb.DuckDBPyConnection, spec: LinkSpec, touched_by: str | None = None) -> None:
    """Table ``key_pairs`` (anchor, member, key_column, key_value): every record sharing a key value, against the
    key's anchor; ``touched_by`` (a table of unique_id) limits them to the groups holding one of those records."""
    def rank(k: str) -> str:
        order = AUTHORITY.get(k, ())
        return f"coalesce(list_position({list(order)!r}, source_system), {len(order) + 1})"

    union = " union all ".join(
        f"select unique_id, source_system, '{k}' as key_column, {k} as key_value, {rank(k)} as authority "
        f"from all_records where {k} is not null" for k in spec.deterministic_keys)
    where = (f"where (key_column, key_value) in (select (key_column, key_value) from keyed "
             f"where unique_id in (select unique_id from {touched_by}))" if touched_by else "")
    work.execute(f"""
        create or replace table key_pairs as
        with keyed as ({union})
        select first_value(unique_id) over (partition by key_column, key_value order by authority, unique_id)
                   as anchor, unique_id as member, key_column, key_value
        from keyed {where} qualify anchor <> member""")


def vet_key_edges(work: duckdb.DuckDBPyConnection, spec: LinkSpec, model: dict | None, config: LinkageConfig,
                  touched_by: str | None = None, decisions: list[tuple[str, str, str]] = ()
                  ) -> tuple[list[tuple[str, str, str]], list[KeyConflict]]:
    """The deterministic edges (anchor, member, key column) that neither the evidence nor a reviewer
    contradicts, and the key conflicts (without a model only a reviewer's "different" refuses a key: there is
    nothing yet to weigh the evidence with)."""
    key_pairs(work, spec, touched_by)
    # a reviewer who said two records sharing a key are different (or split them) cuts the key link between them
    different = {(a, b) for a, b, d in decisions if d == "no_match"}
    different |= {(b, a) for a, b in different}
    same = {(a, b) for a, b, d in decisions if d == "match"}
    same |= {(b, a) for a, b in same}
    cols = [c for c in spec.columns if c not in ("unique_id",)]
    evidence = evidence_sql(model, config.key_conflict_bound, spec.not_key_evidence) \
        if model and model.get("comparisons") else "0"  # without a model, only reviewers refuse a key
    rows = work.execute(f"""
        with pairs as (
            select k.anchor, k.member, k.key_column, k.key_value,
                   {pair_columns(cols)}
            from key_pairs k
            join all_records l on l.unique_id = k.anchor
            join all_records r on r.unique_id = k.member
        )
        select anchor, member, key_column, key_value, {evidence} as w from pairs
        order by anchor, member, key_column""").fetchall()
    edges: list[tuple[str, str, str]] = []
    conflicts: dict[str, KeyConflict] = {}
    for anchor, member, key_column, key_value, w in rows:
        # a reviewer's "different" refuses the key like a contradiction does; a reviewer's "same" vouches for it
        refused = (anchor, member) in different or (w < config.key_conflict_weight and (anchor, member) not in same)
        if refused:
            conflicts.setdefault(member, KeyConflict(member, anchor, key_column, key_value, round(float(w), 2)))
        else:
            edges.append((anchor, member, key_column))
    # a member in conflict with one key's anchor is not chained by another key either
    edges = [e for e in edges if e[1] not in conflicts and e[0] not in conflicts]
    return edges, list(conflicts.values())


def read_conflicts(lake_con: duckdb.DuckDBPyConnection, entity: str) -> list[KeyConflict]:
    """The key conflicts the lake holds (the last run that vetted each record's key group found them)."""
    table = f"{entity}_key_conflicts"
    if not table_exists(lake_con, "identity", table):
        return []
    return [KeyConflict(*r) for r in lake_con.execute(
        f"select unique_id, anchor_unique_id, key_column, key_value, evidence_weight from lake.identity.{table}"
    ).fetchall()]
