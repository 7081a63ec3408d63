"""Person linkage: deterministic links, then Splink trained by EM on the data itself.

Why it is built this way (see ../shared/design/architecture.md):
- 宛名番号 with a valid check digit and the 個人番号 token are the same person by
  definition: they are deterministic edges, never scored.
- Everything else is scored by Splink. Kanji and kana of a name are one piece of
  evidence (one comparison), birth date, sex, address and phone carry the weight,
  and two *different* valid 宛名番号 are strong evidence against a match.
- The model is trained by expectation maximisation on the records themselves; the
  truth files are never read here.
- Clusters are grown greedily from the strongest edge down, with a cannot-link
  guard: two clusters that hold different 宛名番号 (or two 国保 records, one per
  insured person) are never merged by a probabilistic edge, so same-name
  strangers cannot chain into giant clusters.
- Reviewers' decisions (``identity.person_review_decisions``) override the model:
  a ``match`` is a deterministic edge, a ``no_match`` a cannot-link.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from onesource.core.settings import Settings

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class LinkageConfig:
    """Thresholds are set by the data team, not fitted to truth: link at or above ``link``, review in between."""

    link: float = 0.95
    review_lower: float = 0.5
    max_pairs_u: float = 2e6


@dataclass(frozen=True)
class LinkSpec:
    """What is linked: the input model, its columns, the keys that decide and the guard."""

    entity: str  # person | business
    input_table: str  # in lake.identity
    columns: tuple[str, ...]
    compared: tuple[str, ...]  # shown side by side in the review queue
    deterministic_keys: tuple[str, ...]  # equal value => same entity
    guard_key: str  # two different values => never merged by a scored edge
    unique_per_entity: tuple[str, ...]  # source systems with at most one record per entity
    em_rules: tuple[tuple[str, ...], ...]
    settings: object = field(repr=False, default=None)  # callable returning a SettingsCreator
    # records agreeing exactly on all of these are linked like a certain score (still under the guard):
    # the model, trained on a small zone, may not be sure enough of what is identical on every field
    exact_agreement: tuple[str, ...] = ()

@dataclass
class LinkageResult:
    records: int
    scored_pairs: int
    deterministic_edges: int
    probabilistic_links: int
    blocked_by_guard: int
    review_pairs: int
    clusters: int
    seconds: float
    model: dict = field(repr=False, default_factory=dict)
    chart_path: Path | None = None


def person_settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name_levels = [
        {"sql_condition": "(name_key_l is null or name_key_r is null)"
                          " and (name_kana_key_l is null or name_kana_key_r is null)",
         "label_for_charts": "name missing", "is_null_level": True},
        {"sql_condition": "name_key_l = name_key_r and name_kana_key_l = name_kana_key_r",
         "label_for_charts": "kanji and kana exact", "tf_adjustment_column": "name_kana_key"},
        {"sql_condition": "name_kana_key_l = name_kana_key_r", "label_for_charts": "kana exact, kanji differs",
         "tf_adjustment_column": "name_kana_key"},
        {"sql_condition": "name_key_l = name_key_r", "label_for_charts": "kanji exact, kana differs"},
        {"sql_condition": "(name_key_l like replace(name_key_r, '〓', '_')"
                          " or name_key_r like replace(name_key_l, '〓', '_'))"
                          " and (contains(name_key_l, '〓') or contains(name_key_r, '〓'))",
         "label_for_charts": "kanji equal but for 外字 〓"},
        {"sql_condition": "(given_name_kana_key_l = given_name_kana_key_r or given_name_key_l = given_name_key_r)"
                          " and (former_surname_key_l = surname_key_r or former_surname_key_r = surname_key_l)",
         "label_for_charts": "same given name, surname is the other's 旧氏"},
        {"sql_condition": "jaro_winkler_similarity(name_kana_key_l, name_kana_key_r) >= 0.92"
                          " or jaro_winkler_similarity(name_key_l, name_key_r) >= 0.9",
         "label_for_charts": "one-character difference (typo)"},
        {"sql_condition": "given_name_kana_key_l = given_name_kana_key_r or given_name_key_l = given_name_key_r",
         "label_for_charts": "same given name, other surname"},
        cll.ElseLevel(),
    ]
    name = cl.CustomComparison(output_column_name="name", comparison_levels=name_levels,
                               comparison_description="kanji and kana name, one piece of evidence")
    birth = cl.CustomComparison(output_column_name="birth", comparison_levels=[
        {"sql_condition": "birth_year_l is null or birth_year_r is null", "label_for_charts": "birth missing",
         "is_null_level": True},
        {"sql_condition": "birth_date_l = birth_date_r", "label_for_charts": "same birth date",
         "tf_adjustment_column": "birth_date"},
        {"sql_condition": "birth_year_l = birth_year_r and birth_month_l = birth_month_r"
                          " and (birth_day_l is null or birth_day_r is null)",
         "label_for_charts": "same year and month, a day unknown"},
        {"sql_condition": "birth_year_l = birth_year_r and (birth_month_l = birth_month_r or birth_day_l = birth_day_r"
                          " or (birth_month_l = birth_day_r and birth_day_l = birth_month_r))",
         "label_for_charts": "same year, month or day differs"},
        {"sql_condition": "abs(birth_year_l - birth_year_r) <= 1 and birth_month_l = birth_month_r"
                          " and birth_day_l = birth_day_r", "label_for_charts": "year off by one"},
        cll.ElseLevel(),
    ])
    sex = cl.CustomComparison(output_column_name="sex", comparison_levels=[
        cll.NullLevel("sex_code"), cll.ExactMatchLevel("sex_code"), cll.ElseLevel()])
    address = cl.CustomComparison(output_column_name="address", comparison_levels=[
        {"sql_condition": "address_key_l is null or address_key_r is null", "label_for_charts": "address missing",
         "is_null_level": True},
        {"sql_condition": "address_key_l = address_key_r", "label_for_charts": "same address",
         "tf_adjustment_column": "address_key"},
        {"sql_condition": "town_l = town_r", "label_for_charts": "same town"},
        cll.ElseLevel(),
    ])
    phone = cl.CustomComparison(output_column_name="phone", comparison_levels=[
        cll.NullLevel("phone_key"), cll.ExactMatchLevel("phone_key"), cll.ElseLevel()])
    atena = cl.CustomComparison(output_column_name="atena", comparison_levels=[
        cll.NullLevel("atena_bango"),
        {"sql_condition": "atena_bango_l = atena_bango_r", "label_for_charts": "same 宛名番号"},
        {"sql_condition": "atena_bango_l <> atena_bango_r", "label_for_charts": "different valid 宛名番号"},
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, birth, sex, address, phone, atena],
        blocking_rules_to_generate_predictions=[
            block_on("name_kana_key", "birth_year"),
            block_on("name_key", "birth_year"),
            block_on("surname_kana_key", "birth_date"),
            block_on("given_name_kana_key", "birth_date"),
            block_on("address_key", "given_name_kana_key"),
            block_on("phone_key"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
        additional_columns_to_retain=["source_system"],
    )


def business_settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(output_column_name="name", comparison_levels=[
        {"sql_condition": "(name_core_key_l is null or name_core_key_r is null)"
                          " and (name_kana_key_l is null or name_kana_key_r is null)",
         "label_for_charts": "name missing", "is_null_level": True},
        {"sql_condition": "name_core_key_l = name_core_key_r", "label_for_charts": "same name without legal form",
         "tf_adjustment_column": "name_core_key"},
        {"sql_condition": "name_kana_key_l = name_kana_key_r or name_core_key_l = name_kana_key_r"
                          " or name_kana_key_l = name_core_key_r", "label_for_charts": "same name in kana"},
        {"sql_condition": "jaro_winkler_similarity(name_core_key_l, name_core_key_r) >= 0.9",
         "label_for_charts": "name close"},
        cll.ElseLevel(),
    ])
    form = cl.CustomComparison(output_column_name="legal_form", comparison_levels=[
        cll.NullLevel("legal_form"), cll.ExactMatchLevel("legal_form"), cll.ElseLevel()])
    address = cl.CustomComparison(output_column_name="address", comparison_levels=[
        {"sql_condition": "address_key_l is null or address_key_r is null", "label_for_charts": "address missing",
         "is_null_level": True},
        {"sql_condition": "address_key_l = address_key_r", "label_for_charts": "same address"},
        {"sql_condition": "town_l = town_r", "label_for_charts": "same town"},
        cll.ElseLevel(),
    ])
    phone = cl.CustomComparison(output_column_name="phone", comparison_levels=[
        cll.NullLevel("phone_key"), cll.ExactMatchLevel("phone_key"), cll.ElseLevel()])
    houjin = cl.CustomComparison(output_column_name="houjin_bango", comparison_levels=[
        cll.NullLevel("houjin_bango"),
        {"sql_condition": "houjin_bango_l = houjin_bango_r", "label_for_charts": "same 法人番号"},
        {"sql_condition": "houjin_bango_l <> houjin_bango_r", "label_for_charts": "different valid 法人番号"},
    ])
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, form, address, phone, houjin],
        blocking_rules_to_generate_predictions=[
            block_on("name_core_key"), block_on("name_kana_key"), block_on("phone_key"),
            block_on("address_key"),
        ],
        retain_matching_columns=True,
        additional_columns_to_retain=["source_system"],
    )


PERSON = LinkSpec(
    entity="person", input_table="int_person_records_unioned",
    columns=("unique_id", "source_system", "source_record_key", "atena_bango", "kojin_bango_token", "setai_bango",
             "name_key", "surname_key", "given_name_key", "name_kana_key", "surname_kana_key", "given_name_kana_key",
             "former_surname_key", "birth_year", "birth_month", "birth_day", "birth_date", "sex_code",
             "address_key", "town", "phone_key"),
    compared=("name_key", "name_kana_key", "birth_date", "birth_year", "birth_month", "birth_day", "sex_code",
              "address_key", "town", "phone_key", "atena_bango"),
    deterministic_keys=("atena_bango", "kojin_bango_token"),
    guard_key="atena_bango",
    unique_per_entity=("kokuho",),
    em_rules=(("birth_date",), ("name_kana_key", "town")),
    settings=person_settings,
    exact_agreement=("name_key", "name_kana_key", "birth_date", "address_key"),
)

BUSINESS = LinkSpec(
    entity="business", input_table="int_business_records_unioned",
    columns=("unique_id", "source_system", "source_record_key", "houjin_bango", "name_core_key", "name_kana_key",
             "legal_form", "address_key", "town", "phone_key"),
    compared=("name_core_key", "name_kana_key", "legal_form", "address_key", "town", "phone_key", "houjin_bango"),
    deterministic_keys=("houjin_bango",),
    guard_key="houjin_bango",
    unique_per_entity=("houjin",),
    em_rules=(("town",), ("name_core_key",)),
    settings=business_settings,
    exact_agreement=("name_core_key", "address_key"),
)


def train_and_predict(work: duckdb.DuckDBPyConnection, spec: LinkSpec, config: LinkageConfig):
    """Train on table ``link_input`` of ``work`` by EM (no labels); return (linker, predictions)."""
    from splink import DuckDBAPI, Linker, block_on

    db_api = DuckDBAPI(connection=work)
    df = db_api.register("link_input")
    linker = Linker(df, spec.settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(k) for k in spec.deterministic_keys], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=config.max_pairs_u, seed=42)
    for rule in spec.em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
    predictions = linker.inference.predict(threshold_match_probability=config.review_lower)
    return linker, predictions


class _Clusters:
    """Union-find with per-cluster constraint sets (the cannot-link guard)."""

    def __init__(self, ids: list[str], guard: dict[str, str], unique_system: dict[str, str]) -> None:
        self.parent = {i: i for i in ids}
        # constraint sets per cluster root, kept only where there is something to guard
        self.guard: dict[str, set[str]] = {i: {g} for i, g in guard.items()}
        self.unique: dict[str, set[str]] = {i: {s} for i, s in unique_system.items()}
        self.forbidden: dict[str, set[str]] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str, guarded: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ga, gb = self.guard.get(ra), self.guard.get(rb)
        ua, ub = self.unique.get(ra), self.unique.get(rb)
        if guarded:
            if ga and gb and not (ga & gb):
                return False
            if ua and ub and (ua & ub):
                return False
            if rb in self.forbidden.get(ra, ()):
                return False
        self.parent[rb] = ra
        if gb:
            self.guard[ra] = (ga or set()) | self.guard.pop(rb)
        if ub:
            self.unique[ra] = (ua or set()) | self.unique.pop(rb)
        moved = self.forbidden.pop(rb, set())
        if moved:
            self.forbidden.setdefault(ra, set()).update(moved)
            for other in moved:
                peers = self.forbidden.setdefault(other, set())
                peers.discard(rb)
                peers.add(ra)
        return True

    def forbid(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.forbidden.setdefault(ra, set()).add(rb)
            self.forbidden.setdefault(rb, set()).add(ra)


def cluster(ids: list[str], systems: list[str], guard_values: list[str | None], spec: LinkSpec,
            deterministic: list[tuple[str, str]], scored: list[tuple[str, str, float]],
            decisions: list[tuple[str, str, str]], config: LinkageConfig) -> tuple[dict[str, str], int, int]:
    """Record -> cluster root: deterministic edges and reviewers' matches, then scored edges strongest first."""
    guard = {i: g for i, g in zip(ids, guard_values) if g}
    unique_system = {i: s for i, s in zip(ids, systems) if s in spec.unique_per_entity}
    c = _Clusters(ids, guard, unique_system)
    for a, b in deterministic:
        c.union(a, b, guarded=False)
    for a, b, decision in decisions:
        if decision == "match" and a in c.parent and b in c.parent:
            c.union(a, b, guarded=False)
    for a, b, decision in decisions:
        if decision == "no_match" and a in c.parent and b in c.parent:
            c.forbid(a, b)
    linked = blocked = 0
    for a, b, p in sorted(scored, key=lambda e: (-e[2], e[0], e[1])):
        if p < config.link:
            break
        if c.find(a) == c.find(b):
            continue
        if c.union(a, b, guarded=True):
            linked += 1
        else:
            blocked += 1
    return {i: c.find(i) for i in ids}, linked, blocked


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


def _arrow(result) -> pa.Table:
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


def run_linkage(lake_con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec,
                config: LinkageConfig | None = None) -> tuple[pa.Table, pa.Table, LinkageResult]:
    """Link the records of ``lake.identity.<spec.input_table>``; nothing is written to the lake here.

    Returns (membership: one row per record with its cluster root, review-queue pairs, figures).
    """
    config = config or LinkageConfig()
    t0 = time.perf_counter()
    records, work = _load(lake_con, settings, spec)
    decisions = read_decisions(lake_con, spec.entity)
    ids = records.column("unique_id").to_pylist()
    det = deterministic_edges(work, spec.deterministic_keys)
    n_input = work.execute("select count(*) from link_input").fetchone()[0]
    pred_rows: list[tuple] = []
    linker = predictions = None
    if n_input >= 2:
        linker, predictions = train_and_predict(work, spec, config)
        pred_rows = work.execute(f"select unique_id_l, unique_id_r, match_probability from "
                                 f"{predictions.physical_name}").fetchall()
    pred_rows += _exact_edges(work, spec)
    roots, linked, blocked = cluster(ids, records.column("source_system").to_pylist(),
                                     records.column(spec.guard_key).to_pylist(), spec, det, pred_rows, decisions,
                                     config)
    review = _review_queue(work, [predictions.physical_name] if predictions is not None else [], spec, config,
                           decisions, roots)
    model: dict = {}
    chart_path = None
    if linker is not None:
        model = json.loads(json.dumps(linker.misc.save_model_to_json(), default=str))
        out = settings.home / "identity" / "models"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{spec.entity}_model.json").write_text(json.dumps(model, ensure_ascii=False, indent=1))
        try:
            chart_path = out / f"{spec.entity}_match_weights.html"
            linker.visualisations.match_weights_chart().save(str(chart_path))
        except Exception as exc:  # noqa: BLE001 - the chart is a report; the linkage stands without it
            log.warning("match weights chart not written: %s", exc)
            chart_path = None
    membership = _membership(records, roots)
    result = LinkageResult(records=records.num_rows, scored_pairs=len(pred_rows), deterministic_edges=len(det),
                           probabilistic_links=linked, blocked_by_guard=blocked, review_pairs=review.num_rows,
                           clusters=len(set(roots.values())), seconds=round(time.perf_counter() - t0, 1),
                           model=model, chart_path=chart_path)
    work.close()
    return membership, review, result


def _load(lake_con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec
          ) -> tuple[pa.Table, duckdb.DuckDBPyConnection]:
    """The records to link, with a fingerprint of their linkage fields, in a bounded working database
    (``all_records``, and ``link_input``: the records with a name to compare)."""
    fields = [c for c in spec.columns if c not in ("unique_id", "source_system", "source_record_key")]
    records = _arrow(lake_con.execute(
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


def _membership(records: pa.Table, roots: dict[str, str]) -> pa.Table:
    ids = records.column("unique_id").to_pylist()
    return pa.table({"unique_id": records.column("unique_id"),
                     "source_system": records.column("source_system"),
                     "source_record_key": records.column("source_record_key"),
                     "fingerprint": records.column("fingerprint"),
                     "cluster_root": pa.array([roots[i] for i in ids], type=pa.string())})


def _review_queue(work: duckdb.DuckDBPyConnection, prediction_tables: list[str], spec: LinkSpec,
                  config: LinkageConfig, decisions: list[tuple[str, str, str]], roots: dict[str, str]) -> pa.Table:
    """Scored pairs in the uncertain band, field by field, that neither a stronger link nor a reviewer settled."""
    if not prediction_tables:
        return pa.table({})
    compared = [c for c in spec.compared if c not in ("unique_id",)]
    gammas = [c for c in work.execute(f"select * from {prediction_tables[0]} limit 0").fetchdf().columns
              if c.startswith("gamma_")]
    cols = ["unique_id_l", "unique_id_r", "match_probability", "match_weight", *gammas]
    union = " union all ".join(f"select {', '.join(cols)} from {t}" for t in prediction_tables)
    review = _arrow(work.execute(f"""
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


def _exact_edges(work: duckdb.DuckDBPyConnection, spec: LinkSpec, only: str | None = None) -> list[tuple]:
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


@dataclass
class IncrementalLinkage:
    """What an incremental run decided: only the records it re-clustered, with what they carried before."""

    membership: pa.Table  # the re-clustered records, with cluster_root
    previous: dict[str, str]  # their ids before (and those of records no longer delivered), where they had one
    replaced: list[str]  # unique_ids whose membership rows the run replaces (re-clustered or gone)
    review: pa.Table
    result: LinkageResult


def run_linkage_incremental(lake_con: duckdb.DuckDBPyConnection, settings: Settings, spec: LinkSpec, model: dict,
                            config: LinkageConfig | None = None) -> IncrementalLinkage:
    """Link only what is new or changed since the last run against the clusters already known.

    ``model`` is the Splink model of the last full run (no retraining). A record is fresh when it is new or
    the fingerprint of its linkage fields changed. Fresh records are scored against every record
    (``predict_between``) and among themselves (``predict_within``) with the model's own blocking rules,
    joined by deterministic keys, and clustered onto the known clusters under the same guard. Only the
    clusters an edge, a fresh record, a reviewer's decision or a vanished record touches are re-clustered
    (with all their members, so the guard and the id claims see the whole cluster); every other record
    keeps its membership row as it is. A periodic full run re-trains and re-clusters everything.
    """
    from splink import DuckDBAPI, Linker

    config = config or LinkageConfig()
    t0 = time.perf_counter()
    entity = spec.entity
    records, work = _load(lake_con, settings, spec)
    work.register("prev_arrow", _arrow(lake_con.execute(
        f"select unique_id, {entity}_id as old_id, fingerprint from lake.identity.{entity}_membership").arrow()))
    work.execute("create table prev as select * from prev_arrow")
    work.unregister("prev_arrow")
    work.execute("""create table fresh as select r.unique_id from records_arrow r left join prev p using (unique_id)
                    where p.unique_id is null or p.fingerprint is distinct from r.fingerprint""")
    n_fresh = work.execute("select count(*) from fresh").fetchone()[0]
    decisions = read_decisions(lake_con, entity)
    new_det = deterministic_edges(work, spec.deterministic_keys, touched_by="fresh") if n_fresh else []
    scored: list[tuple] = []
    tables: list[str] = []
    n_fresh_input = work.execute("select count(*) from link_input where unique_id in (select unique_id from fresh)"
                                 ).fetchone()[0]
    if n_fresh_input:
        fresh_rows = "unique_id in (select unique_id from fresh)"
        work.execute(f"create table link_new as select * from link_input where {fresh_rows}")
        work.execute(f"create table link_old as select * from link_input where not ({fresh_rows})")
        db_api = DuckDBAPI(connection=work)
        all_df = db_api.register("link_input")
        linker = Linker(all_df, model, log_level=logging.ERROR)
        for comparison in model.get("comparisons", []):
            for level in comparison.get("comparison_levels", []):
                col = level.get("tf_adjustment_column")
                if col:
                    linker.table_management.compute_tf_table(col)
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
    scored += _exact_edges(work, spec, only="fresh") if n_fresh else []
    # the records to re-cluster: every member of a cluster that something touches, and the fresh records
    touched = {u for e in new_det for u in e} | {u for a, b, _p in scored for u in (a, b)} \
        | {u for a, b, _d in decisions for u in (a, b)}
    work.register("touched_arrow", pa.table({"unique_id": pa.array(sorted(touched), type=pa.string())}))
    work.execute("""
        create table affected_ids as
        select distinct old_id from prev where unique_id in (select unique_id from touched_arrow)
            or unique_id in (select unique_id from fresh)
            or unique_id not in (select unique_id from all_records)""")
    sub = _arrow(work.execute("""
        select r.unique_id, r.source_system, r.source_record_key, r.fingerprint, r.{guard}, p.old_id
        from records_arrow r left join prev p using (unique_id)
        where p.old_id is null or p.old_id in (select old_id from affected_ids)
        order by r.unique_id""".format(guard=spec.guard_key)).arrow())
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
    roots, linked, blocked = cluster(ids, sub.column("source_system").to_pylist(),
                                     sub.column(spec.guard_key).to_pylist(), spec, det, scored,
                                     [d for d in decisions if d[0] in in_sub and d[1] in in_sub], config)
    review = _review_queue(work, tables, spec, config, decisions, roots)
    result = LinkageResult(records=records.num_rows, scored_pairs=len(scored), deterministic_edges=len(new_det),
                           probabilistic_links=linked, blocked_by_guard=blocked, review_pairs=review.num_rows,
                           clusters=unaffected_clusters + len(set(roots.values())),
                           seconds=round(time.perf_counter() - t0, 1), model=model)
    work.close()
    log.info("%s incremental linkage: %s new or changed of %s records, %s re-clustered", entity, n_fresh,
             records.num_rows, len(ids))
    return IncrementalLinkage(membership=_membership(sub, roots), previous={**previous, **gone},
                              replaced=ids + list(gone), review=review, result=result)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
