"""Why a golden record is what it is: its records, the edges that hold them together, the key links refused as
conflicts, the reviewers' decisions, which source won each field, and the id's history.

``explain`` reads the lake only (the identity tables the linkage wrote and the golden-record marts); the CLI
(``onesource explain``) prints it and the reviewer's workbench shows it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import duckdb

from core.lake import LAKE_ALIAS as L
from core.lake import dict_rows, table_exists

# the fields shown for a record, per entity (the linkage's normalized keys, as the comparisons see them)
FIELDS = {
    "person": ("name_key", "name_kana_key", "birth_date", "sex_code", "address_key", "phone_key", "atena_bango",
               "kojin_bango_token"),
    "business": ("name_core_key", "name_kana_key", "legal_form", "address_key", "phone_key", "houjin_bango"),
}
# the golden record's fields and the column naming the source that won each
WINNERS = {
    "person": (("name", "name_source"), ("birth_date", "birth_source"), ("sex", "sex_source"),
               ("address", "address_source")),
    "business": (("name", "name_source"),),
}
ID_PATTERN = re.compile(r"^[PB][0-9]{9}$")


class UnknownId(LookupError):
    pass


@dataclass
class Explanation:
    entity: str
    entity_id: str
    golden: dict
    winners: list[tuple[str, object, str | None]]  # (field, value, source system that won it)
    records: list[dict]
    edges: list[dict]
    refused: list[dict]  # key links refused as conflicts, touching this record set
    decisions: list[dict]
    history: list[dict]
    notes: list[str] = field(default_factory=list)


def entity_of(entity_id: str) -> str:
    if not ID_PATTERN.match(entity_id or ""):
        raise UnknownId("an id is P or B and nine digits (P000000001, B000000001)")
    return "person" if entity_id[0] == "P" else "business"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    return dict_rows(con.execute(sql, params))


def weight(p: float | None) -> float | None:
    """A match probability as a match weight (log2 odds), for reading edges side by side."""
    if p is None:
        return None
    if p >= 1.0:
        return math.inf
    return round(math.log2(p / (1.0 - p)), 2) if p > 0 else -math.inf


def explain(con: duckdb.DuckDBPyConnection, entity_id: str) -> Explanation:
    entity = entity_of(entity_id)
    idc = f"{entity}_id"
    ids = [r[0] for r in con.execute(f"select unique_id from {L}.identity.{entity}_membership where {idc} = ? "
                                     "order by unique_id", [entity_id]).fetchall()]
    if not ids:
        raise UnknownId(f"no {entity} {entity_id} in the current linkage")
    fields = ", ".join(f"r.{f}" for f in FIELDS[entity])
    records = _rows(con, f"""
        select r.unique_id, r.source_system, r.source_record_key, r.source_file, r.source_line, {fields}
        from {L}.identity.int_{entity}_records_unioned r where r.unique_id in (select unnest(?))
        order by r.source_system, r.unique_id""", [ids])
    edges = []
    if table_exists(con, "identity", f"{entity}_edges"):
        edges = _rows(con, f"""select unique_id_l, unique_id_r, edge, key_column, match_probability, run_id
            from {L}.identity.{entity}_edges
            where unique_id_l in (select unnest(?)) and unique_id_r in (select unnest(?))
            order by edge, match_probability desc nulls first, unique_id_l, unique_id_r""", [ids, ids])
        for e in edges:
            e["match_weight"] = weight(e["match_probability"])
    refused = []
    if table_exists(con, "identity", f"{entity}_key_conflicts"):
        refused = _rows(con, f"""select k.unique_id, k.key_column, k.key_value, k.anchor_unique_id,
                k.evidence_weight, m.{idc} as record_id, a.{idc} as anchor_id
            from {L}.identity.{entity}_key_conflicts k
            left join {L}.identity.{entity}_membership m on m.unique_id = k.unique_id
            left join {L}.identity.{entity}_membership a on a.unique_id = k.anchor_unique_id
            where k.unique_id in (select unnest(?)) or k.anchor_unique_id in (select unnest(?))
            order by k.unique_id""", [ids, ids])
    decisions = []
    if table_exists(con, "identity", f"{entity}_review_decisions"):
        decisions = _rows(con, f"""select unique_id_l, unique_id_r, decision, reviewer, note, decided_at
            from {L}.identity.{entity}_review_decisions
            where unique_id_l in (select unnest(?)) or unique_id_r in (select unnest(?))
            order by decided_at""", [ids, ids])
    history = []
    if table_exists(con, "identity", f"{entity}_id_history"):
        history = _rows(con, f"""select run_id, event, {idc} as entity_id, related_id, recorded_at, cause
            from {L}.identity.{entity}_id_history where {idc} = ? or related_id = ?
            order by recorded_at, run_id""", [entity_id, entity_id])
    if table_exists(con, "identity", f"{entity}_membership_changes"):  # records that moved in or out
        history += _rows(con, f"""select run_id, 'moved' as event, new_id as entity_id, old_id as related_id,
                recorded_at, cause, unique_id from {L}.identity.{entity}_membership_changes
            where new_id = ? or old_id = ? order by recorded_at, run_id""", [entity_id, entity_id])
    golden, winners, notes = {}, [], []
    dim = f"dim_{entity}"
    if table_exists(con, "marts", dim):
        rows = _rows(con, f"select * from {L}.marts.{dim} where {idc} = ?", [entity_id])
        if rows:
            golden = rows[0]
            winners = [(f, golden.get(f), golden.get(src)) for f, src in WINNERS[entity] if f in golden]
        else:
            notes.append("the golden record is built by the next marts stage (the linkage is newer)")
    return Explanation(entity, entity_id, golden, winners, records, edges, refused, decisions, history, notes)


EDGE_KINDS = {"key": "key", "score": "score", "exact": "exact agreement", "reviewer": "reviewer: same"}


def edge_text(e: dict) -> str:
    """One edge as a line: its kind, the key it shares, and its probability and weight where it has them (a
    deterministic key edge, an exact agreement or a reviewer's decision has no probability)."""
    parts = [EDGE_KINDS.get(e["edge"], str(e["edge"]))]
    if e.get("key_column"):
        parts.append(str(e["key_column"]))
    p = e.get("match_probability")
    if p is not None:
        parts.append(f"p={p:.4f} w={e.get('match_weight', weight(p))}")
    return " ".join(parts)


def as_text(x: Explanation) -> str:
    """The explanation as the CLI prints it (Japanese labels with the English after them)."""
    out = [f"{x.entity_id} ({'人' if x.entity == 'person' else '事業者'} / {x.entity})"]
    if x.winners:
        out.append("名寄せ結果の各項目と採用元 / golden record fields and the source that won each:")
        out += [f"  {f}: {v}  ← {src or '-'}" for f, v, src in x.winners]
    out.append(f"レコード / records ({len(x.records)}):")
    for r in x.records:
        where = f"{r.get('source_file') or '-'}:{r.get('source_line') or '-'}"
        vals = ", ".join(f"{k}={r[k]}" for k in FIELDS[x.entity] if r.get(k) is not None)
        out.append(f"  {r['unique_id']}  [{where}]  {vals}")
    out.append(f"つながり / edges ({len(x.edges)}):")
    out += [f"  {e['unique_id_l']} — {e['unique_id_r']}  {edge_text(e)}" for e in x.edges]
    out.append(f"衝突として拒否したキー / key links refused as conflicts ({len(x.refused)}):")
    for k in x.refused:
        out.append(f"  {k['unique_id']} ({k['record_id']}) carries {k['key_column']}={k['key_value']} of "
                   f"{k['anchor_unique_id']} ({k['anchor_id']}); evidence weight {k['evidence_weight']}")
    out.append(f"審査の判断 / reviewers' decisions ({len(x.decisions)}):")
    out += [f"  {d['unique_id_l']} — {d['unique_id_r']}: {d['decision']} by {d['reviewer'] or '-'} "
            f"({d['note'] or ''}) {d['decided_at']}" for d in x.decisions]
    out.append(f"ID の履歴 / id history ({len(x.history)}):")
    out += [f"  {h['run_id']} {h['event']} {h.get('unique_id') or ''} {h['entity_id']} {h['related_id'] or ''} "
            f"({h['cause'] or 'linkage'})" for h in x.history]
    out += [f"注 / note: {n}" for n in x.notes]
    return "\n".join(out)
