"""One linkage run per entity: link, keep ids stable, write the identity tables in one transaction."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from dataclasses import asdict
from pathlib import Path

import duckdb
import pyarrow as pa

from core.faults import kill_point
from core.lake import LAKE_ALIAS as L
from core.lake import insert_rows, table_exists
from core.settings import Settings
from identity.linkage import (
    BUSINESS,
    PERSON,
    LinkageConfig,
    LinkageResult,
    LinkSpec,
    run_linkage,
    run_linkage_incremental,
)
from identity.linkage.calibrate import fit_band, on_labels, read_labels
from identity.stable_ids import assign

log = logging.getLogger(__name__)
PREFIX = {"person": "P", "business": "B"}
DECISIONS = ("match", "no_match")


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_exists(con, "identity", table)


def ensure_tables(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    con.execute(f"""create table if not exists {L}.identity.{entity}_review_decisions (
        unique_id_l varchar, unique_id_r varchar, decision varchar, reviewer varchar, note varchar,
        decided_at timestamptz)""")
    # the probability the model gave a pair when it was decided: the pair's label survives the queue's rewrite
    con.execute(f"alter table {L}.identity.{entity}_review_decisions add column if not exists match_probability "
                "double")
    con.execute(f"""create table if not exists {L}.identity.{entity}_id_history (
        run_id varchar, event varchar, {entity}_id varchar, related_id varchar, recorded_at timestamptz)""")
    con.execute(f"""create table if not exists {L}.identity.{entity}_membership_changes (
        run_id varchar, unique_id varchar, old_id varchar, new_id varchar, recorded_at timestamptz)""")
    for table in ("id_history", "membership_changes"):
        con.execute(f"alter table {L}.identity.{entity}_{table} add column if not exists cause varchar")
    con.execute(f"""create table if not exists {L}.identity.linkage_runs (
        run_id varchar, entity varchar, started_at timestamptz, records bigint, scored_pairs bigint,
        deterministic_edges bigint, probabilistic_links bigint, blocked_by_guard bigint, review_pairs bigint,
        clusters bigint, seconds double, link_threshold double, review_lower double, model_json varchar)""")
    con.execute(f"alter table {L}.identity.linkage_runs add column if not exists mode varchar")
    con.execute(f"alter table {L}.identity.linkage_runs add column if not exists key_conflicts bigint")
    for col in ("labels bigint", "label_precision double", "label_recall double"):
        con.execute(f"alter table {L}.identity.linkage_runs add column if not exists {col}")
    con.execute(f"""create table if not exists {L}.identity.{entity}_edges (
        unique_id_l varchar, unique_id_r varchar, edge varchar, key_column varchar, match_probability double,
        run_id varchar)""")
    con.execute(f"""create table if not exists {L}.identity.{entity}_key_conflicts (
        unique_id varchar, key_column varchar, key_value varchar, anchor_unique_id varchar, evidence_weight double,
        run_id varchar, detected_at timestamptz)""")
    if _exists(con, f"{entity}_review_queue"):
        for col in ("reason", "suspect_unique_id", "suspect_key"):
            con.execute(f"alter table {L}.identity.{entity}_review_queue add column if not exists {col} varchar")


def _last_model(con: duckdb.DuckDBPyConnection, entity: str) -> dict | None:
    """The model of the last full run, when an incremental run can build on it (else None: a full run)."""
    if not _exists(con, f"{entity}_membership"):
        return None
    cols = {r[0] for r in con.execute("select column_name from duckdb_columns() where database_name = ? and "
                                      "schema_name = 'identity' and table_name = ?",
                                      [L, f"{entity}_membership"]).fetchall()}
    if "fingerprint" not in cols:
        return None
    row = con.execute(f"select model_json from {L}.identity.linkage_runs where entity = ? and model_json is not null "
                      "and model_json <> '{}' order by started_at desc limit 1", [entity]).fetchone()
    return json.loads(row[0]) if row else None


def _next_seq(con: duckdb.DuckDBPyConnection, entity: str) -> int:
    """The first id number no record ever carried (a retired id is never handed out again)."""
    if not _exists(con, f"{entity}_membership"):
        return 1
    return con.execute(f"""select coalesce(max(cast(substr(i, 2) as bigint)), 0) + 1 from (
        select {entity}_id as i from {L}.identity.{entity}_membership union all
        select {entity}_id from {L}.identity.{entity}_id_history union all
        select related_id from {L}.identity.{entity}_id_history where related_id is not null)""").fetchone()[0]


def link_entity(con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec,
                config: LinkageConfig | None = None, incremental: bool = False) -> tuple[str, LinkageResult]:
    """Link one entity and record stable ids. ``incremental`` links only new and changed records onto the
    known clusters with the last full run's model (falling back to a full run when there is none), and
    rewrites only the membership rows of the clusters it re-clustered."""
    entity = spec.entity
    ensure_tables(con, entity)
    labels = read_labels(con, entity)
    config = fit_band(config or LinkageConfig(), labels)
    started = dt.datetime.now(dt.UTC)
    model = _last_model(con, entity) if incremental else None
    mode = "incremental" if model else "full"
    linked = run_linkage_incremental(con, settings, spec, model, config) if model else \
        run_linkage(con, settings, spec, config)
    membership, review, conflicts, result = linked.membership, linked.review, linked.conflicts, linked.result
    figures = on_labels(config, labels)
    result.labels, result.label_precision, result.label_recall = figures.labels, figures.precision, figures.recall
    previous, replaced = linked.previous, linked.replaced
    if replaced is None:
        previous = {}
        if _exists(con, f"{entity}_membership"):
            previous = dict(con.execute(f"select unique_id, {entity}_id from {L}.identity.{entity}_membership"
                                        ).fetchall())
    ids = membership.column("unique_id").to_pylist()
    roots = dict(zip(ids, membership.column("cluster_root").to_pylist()))
    stable, events = assign(roots, previous, PREFIX[entity], _next_seq(con, entity))
    n_runs = con.execute(f"select count(*) from {L}.identity.linkage_runs where entity = ?", [entity]).fetchone()[0]
    run_id = f"{entity}-{n_runs + 1:06d}"
    table = membership.drop_columns(["cluster_root"]).append_column(
        f"{entity}_id", pa.array([stable[i] for i in ids], type=pa.string())).append_column(
        "run_id", pa.array([run_id] * len(ids), type=pa.string()))
    changes = [(run_id, i, previous[i], stable[i], started) for i in ids if i in previous and previous[i] != stable[i]]
    queue = review.append_column("run_id", pa.array([run_id] * review.num_rows, type=pa.string())) \
        if review.num_rows else None
    conflicts = conflicts.append_column("run_id", pa.array([run_id] * conflicts.num_rows, type=pa.string())) \
        .append_column("detected_at", pa.array([started] * conflicts.num_rows, type=pa.timestamp("us", tz="UTC")))
    edges = linked.edges.append_column("run_id", pa.array([run_id] * linked.edges.num_rows, type=pa.string()))
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("membership_arrow", table)
        if replaced is None:
            con.execute(f"create or replace table {L}.identity.{entity}_membership as select * from membership_arrow")
        else:  # only the re-clustered records' rows change: a daily refresh adds a delta, not a new table
            con.register("replaced_arrow", pa.table({"unique_id": pa.array(replaced, type=pa.string())}))
            con.execute(f"delete from {L}.identity.{entity}_membership where unique_id in "
                        "(select unique_id from replaced_arrow)")
            con.execute(f"insert into {L}.identity.{entity}_membership by name select * from membership_arrow")
        con.unregister("membership_arrow")
        # key conflicts: a full run finds them all; an incremental one those of the records it re-clustered
        con.register("conflicts_arrow", conflicts)
        if replaced is None:
            con.execute(f"delete from {L}.identity.{entity}_key_conflicts")
        else:
            con.execute(f"delete from {L}.identity.{entity}_key_conflicts where unique_id in "
                        "(select unique_id from replaced_arrow)")
        con.execute(f"insert into {L}.identity.{entity}_key_conflicts by name select * from conflicts_arrow")
        con.unregister("conflicts_arrow")
        _write_edges(con, entity, edges, replaced)
        if mode == "incremental" and _exists(con, f"{entity}_review_queue"):
            # the open pairs stay; new doubtful pairs join them (a pair found again replaces its older row)
            if queue is not None:
                con.register("queue_arrow", queue)
                con.execute(f"delete from {L}.identity.{entity}_review_queue where (unique_id_l, unique_id_r) in "
                            "(select (unique_id_l, unique_id_r) from queue_arrow)")
                con.execute(f"insert into {L}.identity.{entity}_review_queue by name select *, 'open' as status "
                            "from queue_arrow")
                con.unregister("queue_arrow")
        elif queue is not None:
            con.register("queue_arrow", queue)
            con.execute(f"create or replace table {L}.identity.{entity}_review_queue as "
                        f"select *, 'open' as status from queue_arrow")
            con.unregister("queue_arrow")
        elif _exists(con, f"{entity}_review_queue"):
            con.execute(f"delete from {L}.identity.{entity}_review_queue")
        records = _reviewed(con, entity)
        reviewed = {ids[u] for u in records for ids in (previous, stable) if u in ids}
        insert_rows(con, f"{L}.identity.{entity}_id_history",
                    ["run_id", "event", f"{entity}_id", "related_id", "recorded_at", "cause"],
                    [(run_id, e.event, e.entity_id, e.related_id, started,
                      "reviewer" if e.entity_id in reviewed or e.related_id in reviewed else "linkage")
                     for e in events])
        insert_rows(con, f"{L}.identity.{entity}_membership_changes",
                    ["run_id", "unique_id", "old_id", "new_id", "recorded_at", "cause"],
                    [(*c, "reviewer" if c[1] in records else "linkage") for c in changes])
        con.execute(f"insert into {L}.identity.linkage_runs values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, entity, started, result.records, result.scored_pairs, result.deterministic_edges,
                     result.probabilistic_links, result.blocked_by_guard, result.review_pairs, result.clusters,
                     result.seconds, config.link, config.review_lower,
                     json.dumps(result.model, ensure_ascii=False) if mode == "full" else None, mode,
                     result.key_conflicts, result.labels, result.label_precision, result.label_recall])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info("%s linkage %s: %s", entity, run_id, {k: v for k, v in asdict(result).items() if k != "model"})
    return run_id, result


def _reviewed(con: duckdb.DuckDBPyConnection, entity: str) -> set[str]:
    """The records a reviewer decided on since the entity's last run: the id history and the membership
    changes say when a merge, a split or a move was the reviewers' doing."""
    last = con.execute(f"select max(started_at) from {L}.identity.linkage_runs where entity = ?", [entity]).fetchone()[0]
    rows = con.execute(f"select unique_id_l, unique_id_r from {L}.identity.{entity}_review_decisions "
                       "where ? is null or decided_at > ?", [last, last]).fetchall()
    return {u for pair in rows for u in pair}


def _write_edges(con: duckdb.DuckDBPyConnection, entity: str, edges: pa.Table, replaced: list[str] | None) -> None:
    """The edges that hold each cluster together. A full run writes them all; an incremental one keeps the
    earlier edges whose two records are still together and adds its own (table ``replaced_arrow`` is
    registered for it)."""
    table = f"{L}.identity.{entity}_edges"
    con.register("edges_arrow", edges)
    if replaced is None:
        con.execute(f"create or replace table {table} as select * from edges_arrow")
    else:
        # the earlier edges of re-clustered records whose two ends are no longer together (or one is gone); hash
        # joins over the few edges touched, never a lookup per edge (that took minutes for 30,000 records at 500k)
        con.execute(f"""delete from {table} where (unique_id_l, unique_id_r) in (
            with touched as (
                select unique_id_l, unique_id_r from {table}
                where unique_id_l in (select unique_id from replaced_arrow)
                    or unique_id_r in (select unique_id from replaced_arrow)),
            ids as (
                select unique_id, {entity}_id as id from {L}.identity.{entity}_membership
                where unique_id in (select unique_id_l from touched union all select unique_id_r from touched))
            select (t.unique_id_l, t.unique_id_r) from touched t
            left join ids a on a.unique_id = t.unique_id_l
            left join ids b on b.unique_id = t.unique_id_r
            where a.id is null or b.id is null or a.id <> b.id)""")
        con.execute(f"delete from {table} where (unique_id_l, unique_id_r) in "
                    "(select (unique_id_l, unique_id_r) from edges_arrow)")
        con.execute(f"insert into {table} by name select * from edges_arrow")
        con.unregister("replaced_arrow")
    con.unregister("edges_arrow")


def link_all(con: duckdb.DuckDBPyConnection, settings: Settings, config: LinkageConfig | None = None,
             incremental: bool = False) -> dict[str, tuple[str, LinkageResult]]:
    results = {}
    for spec in (PERSON, BUSINESS):
        results[spec.entity] = link_entity(con, settings, spec, config, incremental)
        kill_point(f"link:{spec.entity}")
    return results


def import_decisions(con: duckdb.DuckDBPyConnection, path: Path, entity: str = "person") -> int:
    """Reviewers' decisions from a CSV (unique_id_l, unique_id_r, decision[, reviewer, note]); they win on every run."""
    ensure_tables(con, entity)
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for n, rec in enumerate(csv.DictReader(fh), start=2):
            decision = (rec.get("decision") or "").strip()
            if decision not in DECISIONS or not rec.get("unique_id_l") or not rec.get("unique_id_r"):
                raise ValueError(f"{path.name} line {n}: need unique_id_l, unique_id_r and decision in {DECISIONS}")
            a, b = sorted((rec["unique_id_l"].strip(), rec["unique_id_r"].strip()))
            rows.append((a, b, decision, rec.get("reviewer") or None, rec.get("note") or None,
                         dt.datetime.now(dt.UTC)))
    if rows:
        con.executemany(f"insert into {L}.identity.{entity}_review_decisions "
                    "(unique_id_l, unique_id_r, decision, reviewer, note, decided_at) values (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def export_xref(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    """person_source_xref.csv and business_source_xref.csv (UTF-8) for any outside scorer."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for entity in ("person", "business"):
        rows = con.execute(f"select source_system, source_record_key, {entity}_id from {L}.marts.{entity}_source_xref "
                           "order by source_system, source_record_key").fetchall()
        path = out / f"{entity}_source_xref.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["source_system", "source_record_key", f"{entity}_id"])
            w.writerows(rows)
        counts[entity] = len(rows)
    return counts
