"""Linkage quality against truth files (scoring only: the linkage never reads truth)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from onesource.core.lake import LAKE_ALIAS as L


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


def pairwise(con: duckdb.DuckDBPyConnection, truth_csv: Path, entity: str = "person") -> Quality:
    """Pairwise precision / recall of ``marts.<entity>_source_xref`` against a truth file (counted per cluster)."""
    con.execute("create or replace temp table _truth as select * from read_csv(?, all_varchar = true, header = true)",
                [str(truth_csv)])
    row = con.execute(f"""
        with j as (
            select x.{entity}_id as predicted, t.true_id
            from {L}.marts.{entity}_source_xref x
            join _truth t on t.source_system = x.source_system and t.source_record_key = x.source_record_key
        ),
        both_ as (select predicted, true_id, count(*) as n from j group by all),
        pred as (select predicted, count(*) as n from j group by all),
        tru as (select true_id, count(*) as n from j group by all)
        select (select count(*) from j),
               (select coalesce(sum(n * (n - 1) / 2), 0) from tru),
               (select coalesce(sum(n * (n - 1) / 2), 0) from pred),
               (select coalesce(sum(n * (n - 1) / 2), 0) from both_)
    """).fetchone()
    return Quality(int(row[0]), int(row[1]), int(row[2]), int(row[3]))
