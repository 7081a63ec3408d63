"""Linkage quality against truth files (scoring only: the linkage never reads truth)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from core.lake import LAKE_ALIAS as L


@dataclass(frozen=True)
class Quality:
    records_scored: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(con: duckdb.DuckDBPyConnection, truth_csv: Path, entity: str = "person",
             source: str | None = None, keyless_only: bool = False) -> Quality:
    """Pairwise precision / recall of ``marts.<entity>_source_xref`` (or ``source``, a relation with
    source_system, source_record_key and <entity>_id) against a truth file, counted per cluster.

    ``keyless_only`` counts only the pairs in which at least one record carries no deterministic key (no
    宛名番号, 個人番号 token or 法人番号): the links the model had to find on names, births and addresses."""
    source = source or f"{L}.marts.{entity}_source_xref"
    con.execute("create or replace temp table _truth as select * from read_csv(?, all_varchar = true, header = true)",
                [str(truth_csv)])
    keys = ("atena_bango", "kojin_bango_token") if entity == "person" else ("houjin_bango",)
    unioned = f"{L}.identity.int_{entity}_records_unioned"
    keyed = (f"(select {' and '.join(f'{k} is null' for k in keys)} from {unioned} u "
             "where u.source_system = x.source_system and u.source_record_key = x.source_record_key) is false"
             if keyless_only else "false")
    # pairs with at least one keyless record = all pairs - pairs of two keyed records, per group
    row = con.execute(f"""
        with j as (
            select x.{entity}_id as predicted, t.true_id, {keyed} as keyed
            from {source} x
            join _truth t on t.source_system = x.source_system and t.source_record_key = x.source_record_key
        ),
        both_ as (select predicted, true_id, count(*) as n, count(*) filter (where keyed) as k from j group by all),
        pred as (select predicted, count(*) as n, count(*) filter (where keyed) as k from j group by all),
        tru as (select true_id, count(*) as n, count(*) filter (where keyed) as k from j group by all)
        select (select count(*) from j),
               (select coalesce(sum(n * (n - 1) / 2 - k * (k - 1) / 2), 0) from tru),
               (select coalesce(sum(n * (n - 1) / 2 - k * (k - 1) / 2), 0) from pred),
               (select coalesce(sum(n * (n - 1) / 2 - k * (k - 1) / 2), 0) from both_)
    """).fetchone()
    return Quality(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
