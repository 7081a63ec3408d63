"""An incremental run: new and changed records scored with the last full run's model onto the known clusters."""

from __future__ import annotations

import datetime as dt
import logging
import time

import duckdb
import pyarrow as pa

from core.settings import Settings
from identity.linkage.clustering import cluster
from identity.linkage.conflicts import read_conflicts, vet_key_edges
from identity.linkage.edges import (
    cluster_edges,
    exact_edges,
    read_decisions,
    to_arrow,
)
from identity.linkage.full import (
    Linked,
    conflicts_table,
    drop_suspect_keys,
    guard_values,
    load_records,
    membership_table,
    scoring_linker,
)
from identity.linkage.review import review_queue
from identity.linkage.spec import LinkageConfig, LinkageResult, LinkSpec

log = logging.getLogger(__name__)


def run_linkage_incremental(lake_con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec, model: dict,
                            config: LinkageConfig | None = None) -> Linked:
    """Link only what is new or changed since the last run against the clusters already known.

    ``model`` is the Splink model of the last full run (no retraining). A record is fresh when it is new or
    the fingerprint of its linkage fields changed. Fresh records are scored against every record
    (``predict_between``) and among themselves (``predict_within``) with the model's own blocking rules,
    joined by deterministic keys, and clustered onto the known clusters under the same guard. Only the
    clusters an edge, a fresh record, a reviewer's decision or a vanished record touches are re-clustered
    (with all their members, so the guard and the id claims see the whole cluster); every other record
    keeps its membership row as it is. A periodic full run re-trains and re-clusters everything.
    """
    config = config or LinkageConfig()
    t0 = time.perf_counter()
    entity = spec.entity
    records, work = load_records(lake_con, settings, spec)
    work.register("prev_arrow", to_arrow(lake_con.execute(
        f"select unique_id, {entity}_id as old_id, fingerprint from lake.identity.{entity}_membership").arrow()))
    work.execute("create table prev as select * from prev_arrow")
    work.unregister("prev_arrow")
    work.execute("""create table fresh as select r.unique_id from records_arrow r left join prev p using (unique_id)
                    where p.unique_id is null or p.fingerprint is distinct from r.fingerprint""")
    n_fresh = work.execute("select count(*) from fresh").fetchone()[0]
    decisions = read_decisions(lake_con, entity)
    new_det, conflicts = vet_key_edges(work, spec, model, config, touched_by="fresh", decisions=decisions) \
        if n_fresh else ([], [])
    vetted = {u for e in new_det for u in e} | {u for c in conflicts for u in (c.unique_id, c.anchor)}
    # conflicts found by earlier runs in groups no fresh record touches still hold
    conflicts += [c for c in read_conflicts(lake_con, entity) if c.unique_id not in vetted]
    scored: list[tuple] = []
    tables: list[str] = []
    drop_suspect_keys(work, conflicts)
    n_fresh_input = work.execute("select count(*) from link_input where unique_id in (select unique_id from fresh)"
                                 ).fetchone()[0]
    if n_fresh_input:
        fresh_rows = "unique_id in (select unique_id from fresh)"
        work.execute(f"create table link_new as select * from link_input where {fresh_rows}")
        work.execute(f"create table link_old as select * from link_input where not ({fresh_rows})")
        linker, db_api = scoring_linker(work, model)
        new_df, old_df = db_api.register("link_new"), db_api.register("link_old")
        outputs = [linker.inference.predict_within(new_df, threshold_match_probability=config.review_lower,
                                                   warning_mode="never")]
        if work.execute("select count(*) from link_old").fetchone()[0]:
            outputs.append(linker.inference.predict_between(old_df, new_df,
                                                            threshold_match_probability=config.review_lower,
                                                            warning_mode="never"))
        tables = [o.physical_name for o in outputs]
        for t in tables:
            scored += work.execute(f"select unique_id_l, unique_id_r, match_probability from {t}").fetchall()
    exact = exact_edges(work, spec, only="fresh") if n_fresh else []
    # the records to re-cluster: every member of a cluster that something touches, and the fresh records
    touched = vetted | {u for a, b, _p in scored + exact for u in (a, b)} \
        | {u for a, b, _d in decisions for u in (a, b)}
    work.register("touched_arrow", pa.table({"unique_id": pa.array(sorted(touched), type=pa.string())}))
    work.execute("""
        create table affected_ids as
        select distinct old_id from prev where unique_id in (select unique_id from touched_arrow)
            or unique_id in (select unique_id from fresh)
            or unique_id not in (select unique_id from all_records)""")
    sub = to_arrow(work.execute(f"""
        select r.unique_id, r.source_system, r.source_record_key, r.fingerprint, r.{spec.guard_key}, p.old_id
        from records_arrow r left join prev p using (unique_id)
        where p.old_id is null or p.old_id in (select old_id from affected_ids)
        order by r.unique_id""").arrow())
    gone = dict(work.execute("select unique_id, old_id from prev where unique_id not in "
                             "(select unique_id from all_records)").fetchall())
    unaffected_clusters = work.execute("select count(distinct old_id) from prev where old_id not in "
                                       "(select old_id from affected_ids)").fetchone()[0]
    work.unregister("records_arrow")
    ids = sub.column("unique_id").to_pylist()
    old = sub.column("old_id").to_pylist()
    previous = {i: o for i, o in zip(ids, old) if o is not None}
    # known clusters, as unguarded edges from each cluster's first record
    by_id: dict[str, list[str]] = {}
    for i, o in previous.items():
        by_id.setdefault(o, []).append(i)
    det = [(members[0], m) for members in by_id.values() for m in members[1:]] + new_det
    in_sub = set(ids)
    sub_conflicts = [c for c in conflicts if c.unique_id in in_sub]
    roots, linked, blocked = cluster(ids, sub.column("source_system").to_pylist(),
                                     guard_values(sub, spec, sub_conflicts), spec, det, scored + exact,
                                     [d for d in decisions if d[0] in in_sub and d[1] in in_sub], config,
                                     [(c.unique_id, c.anchor) for c in sub_conflicts])
    edges = cluster_edges(roots, new_det, scored, exact, decisions)
    review = review_queue(work, tables, spec, config, decisions, roots,
                          [c for c in sub_conflicts if c.unique_id in vetted])
    result = LinkageResult(records=records.num_rows, scored_pairs=len(scored) + len(exact),
                           deterministic_edges=len(new_det),
                           probabilistic_links=linked, blocked_by_guard=blocked, review_pairs=review.num_rows,
                           clusters=unaffected_clusters + len(set(roots.values())),
                           seconds=round(time.perf_counter() - t0, 1), model=model,
                           key_conflicts=len(sub_conflicts))
    work.close()
    log.info("%s incremental linkage: %s new or changed of %s records, %s re-clustered", entity, n_fresh,
             records.num_rows, len(ids))
    return Linked(membership_table(sub, roots), review, conflicts_table(sub_conflicts), edges, result,
                  previous={**previous, **gone}, replaced=ids + list(gone))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
