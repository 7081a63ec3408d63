"""A full linkage run: train by EM on the records themselves, score, cluster."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from core.settings import Settings
from identity.linkage.clustering import cluster
from identity.linkage.conflicts import KeyConflict, vet_key_edges
from identity.linkage.edges import (
    cluster_edges,
    exact_edges,
    read_decisions,
    to_arrow,
)
from identity.linkage.review import review_queue
from identity.linkage.spec import LinkageConfig, LinkageResult, LinkSpec

log = logging.getLogger(__name__)


@dataclass
class Linked:
    """What a linkage run decided, for the records it (re-)clustered."""

    membership: pa.Table  # one row per record with its cluster root
    review: pa.Table  # the pairs for a reviewer: uncertain scores and key conflicts
    conflicts: pa.Table  # records whose key the evidence contradicts
    edges: pa.Table  # the edges that hold each cluster together (cluster_edges)
    result: LinkageResult
    previous: dict[str, str] = field(default_factory=dict)  # incremental: ids before, where they had one
    replaced: list[str] | None = None  # incremental: the records whose rows the run replaces (None: all)


def train(work: duckdb.DuckDBPyConnection, spec: LinkSpec, config: LinkageConfig):
    """Train on table ``link_input`` of ``work`` by EM (no labels); return (linker, model as JSON)."""
    from splink import DuckDBAPI, Linker, block_on

    linker = Linker(DuckDBAPI(connection=work).register("link_input"), spec.settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(k) for k in spec.deterministic_keys], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=config.max_pairs_u, seed=42)
    for rule in spec.em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule),
                                                                           max_pairs=config.max_pairs_em)
        drop_pairs(work)
    return linker, json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))


def drop_pairs(work: duckdb.DuckDBPyConnection) -> None:
    """Drop the pairs Splink materialized for a step that is done (it keeps every EM session's blocked pairs and
    comparison vectors: 41 million rows for birth_date at 500,000 residents, most of the working memory, which
    then spilled to disk under the scoring that follows)."""
    for (name,) in work.execute(
            "select table_name from duckdb_tables() where starts_with(table_name, '__splink__blocked_id_pairs') "
            "or starts_with(table_name, '__splink__df_comparison_vectors')").fetchall():
        work.execute(f'drop table "{name}"')


def scoring_linker(work: duckdb.DuckDBPyConnection, model: dict):
    """A linker that scores ``link_input`` as it is now with a trained model (its own cache: a table changed
    since training is read afresh); returns (linker, db_api)."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=work)
    linker = Linker(db_api.register("link_input"), model, log_level=logging.ERROR)
    for comparison in model.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            if level.get("tf_adjustment_column"):
                linker.table_management.compute_tf_table(level["tf_adjustment_column"])
    return linker, db_api


def drop_suspect_keys(work: duckdb.DuckDBPyConnection, conflicts: list[KeyConflict]) -> None:
    """A key in conflict is no evidence for or against anything: it is dropped from the records to score."""
    for column in sorted({c.key_column for c in conflicts}):
        ids = [c.unique_id for c in conflicts if c.key_column == column]
        work.execute(f"update link_input set {column} = null where unique_id in (select unnest(?))", [ids])


def run_linkage(lake_con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec,
                config: LinkageConfig | None = None) -> Linked:
    """Link the records of ``lake.identity.<spec.input_table>``; nothing is written to the lake here.
    """
    config = config or LinkageConfig()
    t0 = time.perf_counter()
    records, work = load_records(lake_con, settings, spec)
    decisions = read_decisions(lake_con, spec.entity)
    ids = records.column("unique_id").to_pylist()
    n_input = work.execute("select count(*) from link_input").fetchone()[0]
    pred_rows: list[tuple] = []
    linker = predictions = None
    model: dict = {}
    if n_input >= 2:
        linker, model = train(work, spec, config)
    det, conflicts = vet_key_edges(work, spec, model, config, decisions=decisions)
    if model:
        drop_suspect_keys(work, conflicts)
        predictions = scoring_linker(work, model)[0].inference.predict(
            threshold_match_probability=config.review_lower)
        pred_rows = work.execute(f"select unique_id_l, unique_id_r, match_probability from "
                                 f"{predictions.physical_name}").fetchall()
    exact = exact_edges(work, spec)
    roots, linked, blocked = cluster(ids, records.column("source_system").to_pylist(),
                                     guard_values(records, spec, conflicts), spec, det, pred_rows + exact, decisions,
                                     config, [(c.unique_id, c.anchor) for c in conflicts])
    edges = cluster_edges(roots, det, pred_rows, exact, decisions)
    review = review_queue(work, [predictions.physical_name] if predictions is not None else [], spec, config,
                           decisions, roots, conflicts)
    chart_path = None
    if linker is not None:
        out = settings.home / "identity" / "models"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{spec.entity}_model.json").write_text(json.dumps(model, ensure_ascii=False, indent=1))
        try:
            chart_path = out / f"{spec.entity}_match_weights.html"
            linker.visualisations.match_weights_chart().save(str(chart_path))
        except Exception as exc:  # noqa: BLE001 - the chart is a report; the linkage stands without it
            log.warning("match weights chart not written: %s", exc)
            chart_path = None
    membership = membership_table(records, roots)
    result = LinkageResult(records=records.num_rows, scored_pairs=len(pred_rows) + len(exact),
                           deterministic_edges=len(det),
                           probabilistic_links=linked, blocked_by_guard=blocked, review_pairs=review.num_rows,
                           clusters=len(set(roots.values())), seconds=round(time.perf_counter() - t0, 1),
                           model=model, chart_path=chart_path, key_conflicts=len(conflicts))
    work.close()
    return Linked(membership, review, conflicts_table(conflicts), edges, result)


def guard_values(records: pa.Table, spec: LinkSpec, conflicts: list[KeyConflict]) -> list[str | None]:
    """Each record's guard value; none for a record whose guard key is in conflict (it is someone else's: it may
    neither hold the record away from its own entity nor pull it to the key's owner)."""
    suspect = {c.unique_id for c in conflicts if c.key_column == spec.guard_key}
    return [None if i in suspect else g for i, g in zip(records.column("unique_id").to_pylist(),
                                                        records.column(spec.guard_key).to_pylist())]


def conflicts_table(conflicts: list[KeyConflict]) -> pa.Table:
    return pa.table({"unique_id": pa.array([c.unique_id for c in conflicts], type=pa.string()),
                     "key_column": pa.array([c.key_column for c in conflicts], type=pa.string()),
                     "key_value": pa.array([c.key_value for c in conflicts], type=pa.string()),
                     "anchor_unique_id": pa.array([c.anchor for c in conflicts], type=pa.string()),
                     "evidence_weight": pa.array([c.evidence_weight for c in conflicts], type=pa.float64())})


def load_records(lake_con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec
          ) -> tuple[pa.Table, duckdb.DuckDBPyConnection]:
    """The records to link, with a fingerprint of their linkage fields, in a bounded working database
    (``all_records``, and ``link_input``: the records with a name to compare)."""
    fields = [c for c in spec.columns if c not in ("unique_id", "source_system", "source_record_key")]
    records = to_arrow(lake_con.execute(
        f"select {', '.join(spec.columns)}, hash(struct_pack({', '.join(f'{c} := {c}' for c in fields)})) "
        f"as fingerprint from lake.identity.{spec.input_table} order by unique_id").arrow())
    spill = settings.home / "identity" / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    work = duckdb.connect(config={"memory_limit": settings.link_memory_limit, "threads": settings.duckdb_threads,
                                  "temp_directory": str(spill), "preserve_insertion_order": False})
    work.register("records_arrow", records)
    work.execute("create table all_records as select * exclude (fingerprint) from records_arrow")
    name_cols = [c for c in ("name_key", "name_kana_key", "name_core_key") if c in spec.columns]
    work.execute(f"create table link_input as select * from all_records where "
                 f"{' or '.join(f'{c} is not null' for c in name_cols)}")
    return records, work


def membership_table(records: pa.Table, roots: dict[str, str]) -> pa.Table:
    ids = records.column("unique_id").to_pylist()
    return pa.table({"unique_id": records.column("unique_id"),
                     "source_system": records.column("source_system"),
                     "source_record_key": records.column("source_record_key"),
                     "fingerprint": records.column("fingerprint"),
                     "cluster_root": pa.array([roots[i] for i in ids], type=pa.string())})
