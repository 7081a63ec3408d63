"""Reviewers' decisions as labels: the model's precision and recall on them, and the review band they support.

A reviewed pair is a label: the probability the model gave it when it was queued, and what the reviewer said.
The data team's band (link at ``LinkageConfig.link``, review from ``review_lower``) is a guess until labels
arrive; with enough of them the band moves to where the labels say the model is right on its own:

- the link threshold comes down to the lowest probability above which the labelled pairs are the same entity
  at least ``target`` of the time (so pairs the reviewers would have linked anyway stop waiting for them);
- the review floor goes up to the highest probability below which they are different at least ``target`` of
  the time.

Neither moves without ``min_labels`` labels on its side, the link threshold never drops under
``LinkageConfig.link_floor`` and the band never inverts. The labels are the reviewers', never the truth files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb

from core.lake import LAKE_ALIAS as L
from core.lake import table_exists
from identity.linkage.spec import LinkageConfig


@dataclass(frozen=True)
class LabelFigures:
    labels: int
    precision: float | None  # of the band's link verdict on the labels
    recall: float | None


def read_labels(con: duckdb.DuckDBPyConnection, entity: str) -> list[tuple[float, bool]]:
    """(probability when queued, reviewer said same) for every pair whose newest decision is same or different
    and that the model scored."""
    if not table_exists(con, "identity", f"{entity}_review_decisions"):
        return []
    cols = {r[0] for r in con.execute("select column_name from duckdb_columns() where database_name = ? and "
                                      "schema_name = 'identity' and table_name = ?",
                                      [L, f"{entity}_review_decisions"]).fetchall()}
    kept = "d.match_probability" if "match_probability" in cols else "null::double"
    queued = (f"""(select unique_id_l, unique_id_r, match_probability from {L}.identity.{entity}_review_queue
                   where match_probability is not null qualify row_number() over
                   (partition by unique_id_l, unique_id_r order by run_id desc) = 1)"""
              if table_exists(con, "identity", f"{entity}_review_queue") else
              "(select null::varchar as unique_id_l, null::varchar as unique_id_r, null::double as match_probability)")
    # the probability kept with the decision (the workbench keeps it), else the queue's
    return [(float(p), d == "match") for p, d in con.execute(f"""
        with d as (select * from {L}.identity.{entity}_review_decisions qualify row_number() over
                   (partition by unique_id_l, unique_id_r order by decided_at desc) = 1)
        select coalesce({kept}, q.match_probability) as p, d.decision from d
        left join {queued} q using (unique_id_l, unique_id_r)
        where d.decision in ('match', 'no_match') and p is not null""").fetchall()]


def fit_band(config: LinkageConfig, labels: list[tuple[float, bool]], target: float = 0.99,
             min_labels: int = 20) -> LinkageConfig:
    """The band the labels support (see the module's docstring); ``config`` as it is without enough labels."""
    if len(labels) < min_labels:
        return config
    ps = sorted({p for p, _ in labels})
    link = config.link
    for t in ps:  # lowest threshold whose labelled pairs above it are the same often enough
        above = [same for p, same in labels if p >= t]
        if t >= config.link_floor and len(above) >= min_labels and sum(above) / len(above) >= target:
            link = min(link, t)
            break
    lower = config.review_lower
    for t in reversed(ps):  # highest floor whose labelled pairs below it are different often enough
        below = [not same for p, same in labels if p < t]
        if t < link and len(below) >= min_labels and sum(below) / len(below) >= target:
            lower = max(lower, t)
            break
    return replace(config, link=link, review_lower=min(lower, link))


def on_labels(config: LinkageConfig, labels: list[tuple[float, bool]]) -> LabelFigures:
    """The band's verdict (linked at or above ``config.link``) against the reviewers' labels."""
    if not labels:
        return LabelFigures(0, None, None)
    tp = sum(1 for p, same in labels if same and p >= config.link)
    fp = sum(1 for p, same in labels if not same and p >= config.link)
    fn = sum(1 for p, same in labels if same and p < config.link)
    return LabelFigures(len(labels), round(tp / (tp + fp), 4) if tp + fp else None,
                        round(tp / (tp + fn), 4) if tp + fn else None)
