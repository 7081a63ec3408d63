"""What the workbench reads and writes in the lake: the queue by impact, a pair field by field, decisions."""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb

from core.lake import LAKE_ALIAS as L
from core.lake import dict_rows, table_exists
from identity.explain import FIELDS, entity_of
from identity.link import ensure_tables
from identity.linkage import BUSINESS, PERSON, LinkageConfig
from identity.linkage.conflicts import level_case, pair_columns

SPECS = {"person": PERSON, "business": BUSINESS}
# what a reviewer says, and what the linkage reads: same -> match, different -> no_match; unsure keeps the pair
# in the queue; withdrawn undoes the pair's last decision
DECISIONS = {"same": "match", "different": "no_match", "unsure": "unsure", "undo": "withdrawn"}
LABELS = {"match": "同一 / same", "no_match": "別人・別法人 / different", "unsure": "保留 / unsure",
          "withdrawn": "取消 / withdrawn"}
BRONZE_HIDDEN = ("_loaded_at", "_batch_id", "_overflow")


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_exists(con, "identity", table)


def check_entity(entity: str) -> str:
    if entity not in SPECS:
        raise ValueError("entity is person or business")
    return entity


def latest_decisions(con: duckdb.DuckDBPyConnection, entity: str) -> str:
    """SQL of each pair's newest decision (none before the first)."""
    if not _exists(con, f"{entity}_review_decisions"):
        return ("(select null::varchar as unique_id_l, null::varchar as unique_id_r, null::varchar as decision, "
                "null::varchar as reviewer, null::varchar as note, null::timestamptz as decided_at where false)")
    return f"""(select * from {L}.identity.{entity}_review_decisions qualify row_number() over
                (partition by unique_id_l, unique_id_r order by decided_at desc) = 1)"""


def queue(con: duckdb.DuckDBPyConnection, entity: str, system: str | None = None, min_p: float | None = None,
          max_p: float | None = None, reason: str | None = None, show: str = "open", limit: int = 200,
          config: LinkageConfig | None = None) -> tuple[list[dict], int]:
    """The review queue, most impact first (a decision that would move the most records between golden
    records: the smaller of the two clusters), then the pairs closest to the link threshold. Returns (rows, all
    matching rows). ``show`` is open (no standing decision, or unsure) or all."""
    entity = check_entity(entity)
    config = config or LinkageConfig()
    if not _exists(con, f"{entity}_review_queue"):
        return [], 0
    idc = f"{entity}_id"
    where, params = ["q.status = 'open'"], []
    if system:
        where.append("(split_part(q.unique_id_l, '|', 1) = ? or split_part(q.unique_id_r, '|', 1) = ?)")
        params += [system, system]
    if min_p is not None:
        where.append("coalesce(q.match_probability, 0) >= ?")
        params.append(min_p)
    if max_p is not None:
        where.append("coalesce(q.match_probability, 0) <= ?")
        params.append(max_p)
    if reason:
        where.append("coalesce(q.reason, 'uncertain_score') = ?")
        params.append(reason)
    if show == "open":
        where.append("(d.decision is null or d.decision in ('unsure', 'withdrawn'))")
    sql = f"""
        with q as (select * from {L}.identity.{entity}_review_queue
              qualify row_number() over (partition by unique_id_l, unique_id_r order by run_id desc) = 1),
        sizes as (  -- of the clusters the queue touches only
            select {idc}, count(*) as n from {L}.identity.{entity}_membership
            where {idc} in (select {idc} from {L}.identity.{entity}_membership
                            where unique_id in (select unique_id_l from q union select unique_id_r from q))
            group by all)
        select q.unique_id_l, q.unique_id_r, q.match_probability, q.match_weight,
               coalesce(q.reason, 'uncertain_score') as reason, q.suspect_unique_id,
               ml.{idc} as id_l, mr.{idc} as id_r, coalesce(sl.n, 1) as size_l, coalesce(sr.n, 1) as size_r,
               least(coalesce(sl.n, 1), coalesce(sr.n, 1)) as impact,
               abs(coalesce(q.match_probability, 0) - {float(config.link)!r}) as distance,
               d.decision, d.reviewer, d.decided_at
        from q
        left join {L}.identity.{entity}_membership ml on ml.unique_id = q.unique_id_l
        left join {L}.identity.{entity}_membership mr on mr.unique_id = q.unique_id_r
        left join sizes sl on sl.{idc} = ml.{idc}
        left join sizes sr on sr.{idc} = mr.{idc}
        left join {latest_decisions(con, entity)} d
            on d.unique_id_l = q.unique_id_l and d.unique_id_r = q.unique_id_r
        where {' and '.join(where)}
        order by impact desc, distance, q.unique_id_l, q.unique_id_r"""
    rows = dict_rows(con.execute(sql, params))
    return rows[:limit], len(rows)


def model_of(con: duckdb.DuckDBPyConnection, entity: str) -> dict:
    row = con.execute(f"select model_json from {L}.identity.linkage_runs where entity = ? and model_json is not null "
                      "and model_json <> '{}' order by started_at desc limit 1", [entity]).fetchone()
    return json.loads(row[0]) if row else {}


def levels(con: duckdb.DuckDBPyConnection, entity: str, left: str, right: str) -> list[dict]:
    """Each comparison of the last full run's model on the pair: the level that fired and its match weight
    (before term-frequency adjustment)."""
    comparisons = model_of(con, entity).get("comparisons", [])
    if not comparisons:
        return []
    spec = SPECS[entity]
    fired = con.execute(f"""
        select {', '.join(level_case(c, lambda i, _level: str(i), "-1") for c in comparisons)} from (
            select {pair_columns([c for c in spec.columns if c != "unique_id"])}
            from {L}.identity.{spec.input_table} l, {L}.identity.{spec.input_table} r
            where l.unique_id = ? and r.unique_id = ?)""", [left, right]).fetchone()
    out = []
    for comparison, i in zip(comparisons, fired or ()):
        level = comparison["comparison_levels"][i] if i >= 0 else {}
        m, u = level.get("m_probability"), level.get("u_probability")
        out.append({"comparison": comparison.get("output_column_name"),
                    "level": level.get("label_for_charts", "-"),
                    "null": bool(level.get("is_null_level")),
                    "weight": None if level.get("is_null_level") or not m or not u else round(math.log2(m / u), 2)})
    return out


def raw_row(con: duckdb.DuckDBPyConnection, source_file: str | None, source_line: int | None,
            system: str) -> dict:
    """The record as delivered: its bronze row, found by file and line."""
    if not source_file:
        return {}
    tables = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'bronze' and "
        "starts_with(table_name, ?)", [L, f"{system}__"]).fetchall()]
    for t in tables:
        cols = [r[0] for r in con.execute("select column_name from duckdb_columns() where database_name = ? and "
                                          "schema_name = 'bronze' and table_name = ?", [L, t]).fetchall()]
        if "_file" not in cols or "_line" not in cols:
            continue
        # a document (one JSON file per record) has no line: its file is the record
        rows = dict_rows(con.execute(f"select * exclude ({', '.join(c for c in BRONZE_HIDDEN if c in cols) or '_file'}) "
                                 f"from {L}.bronze.{t} where _file = ? and _line is not distinct from ? "
                                 "order by _loaded_at desc limit 1", [source_file, source_line]))
        if rows:
            return {k: v for k, v in rows[0].items() if not k.startswith("_") and v not in (None, "")}
    return {}


def pair(con: duckdb.DuckDBPyConnection, entity: str, left: str, right: str) -> dict:
    """Both records side by side: normalized values, delivered values, source file and line, ids, the levels
    that fired with their weights, the queue's score and reason, and the pair's decisions."""
    entity = check_entity(entity)
    spec = SPECS[entity]
    records = {}
    for uid in (left, right):
        rows = dict_rows(con.execute(f"select * from {L}.identity.{spec.input_table} where unique_id = ?", [uid]))
        if not rows:
            raise LookupError(f"no {entity} record {uid}")
        rec = rows[0]
        rec["id"] = (con.execute(f"select {entity}_id from {L}.identity.{entity}_membership where unique_id = ?",
                                 [uid]).fetchone() or [None])[0]
        rec["raw"] = raw_row(con, rec.get("source_file"), rec.get("source_line"), rec["source_system"])
        records[uid] = rec
    queued = dict_rows(con.execute(f"select * from {L}.identity.{entity}_review_queue where unique_id_l = ? and "
                               "unique_id_r = ? order by run_id desc limit 1", sorted([left, right]))) \
        if _exists(con, f"{entity}_review_queue") else []
    decisions = dict_rows(con.execute(f"select decision, reviewer, note, decided_at from "
                                  f"{L}.identity.{entity}_review_decisions where unique_id_l = ? and unique_id_r = ? "
                                  "order by decided_at desc", sorted([left, right]))) \
        if _exists(con, f"{entity}_review_decisions") else []
    return {"entity": entity, "left": records[left], "right": records[right], "fields": FIELDS[entity],
            "levels": levels(con, entity, left, right), "queued": queued[0] if queued else None,
            "decisions": decisions}


def decide(con: duckdb.DuckDBPyConnection, entity: str, left: str, right: str, decision: str, reviewer: str,
           note: str | None) -> str:
    """Record a reviewer's decision on a pair (the newest decision on a pair stands; the next linkage applies
    it). ``decision`` is same, different, unsure or undo."""
    entity = check_entity(entity)
    if decision not in DECISIONS:
        raise ValueError(f"a decision is one of {', '.join(DECISIONS)}")
    if left == right:
        raise ValueError("a pair is two different records")
    a, b = sorted((left, right))
    ensure_tables(con, entity)
    known = con.execute(f"select count(*) from {L}.identity.{entity}_membership where unique_id in (?, ?)",
                        [a, b]).fetchone()[0]
    if known != 2:
        raise LookupError("both records must be in the current linkage")
    p = con.execute(f"select match_probability from {L}.identity.{entity}_review_queue where unique_id_l = ? and "
                    "unique_id_r = ? order by run_id desc limit 1", [a, b]).fetchone() \
        if _exists(con, f"{entity}_review_queue") else None
    con.execute(f"insert into {L}.identity.{entity}_review_decisions "
                    "(unique_id_l, unique_id_r, decision, reviewer, note, decided_at, match_probability) "
                    "values (?, ?, ?, ?, ?, ?, ?)",
                [a, b, DECISIONS[decision], reviewer, (note or "").strip()[:500] or None, dt.datetime.now(dt.UTC),
                 p[0] if p else None])
    return DECISIONS[decision]


def split(con: duckdb.DuckDBPyConnection, entity_id: str, selected: list[str], reviewer: str,
          note: str | None) -> int:
    """Split the selected records off their cluster: they are different from every other record of it (a
    shared key no longer holds them together) and stay together among themselves. Returns decisions written."""
    entity = entity_of(entity_id)
    members = [r[0] for r in con.execute(f"select unique_id from {L}.identity.{entity}_membership where "
                                         f"{entity}_id = ? order by unique_id", [entity_id]).fetchall()]
    chosen = sorted(set(selected))
    if not chosen or not set(chosen) <= set(members) or len(chosen) == len(members):
        raise ValueError("choose some, not all, of the cluster's records to split off")
    rest = [m for m in members if m not in chosen]
    now = dt.datetime.now(dt.UTC)
    text = (note or "").strip()[:500] or None
    rows = [(*sorted((s, r)), "no_match", reviewer, text, now) for s in chosen for r in rest]
    rows += [(*sorted((chosen[0], s)), "match", reviewer, text, now) for s in chosen[1:]]
    ensure_tables(con, entity)
    con.executemany(f"insert into {L}.identity.{entity}_review_decisions "
                    "(unique_id_l, unique_id_r, decision, reviewer, note, decided_at) values (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
