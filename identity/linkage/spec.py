"""What a linkage links and what it reports: the entity's spec, the thresholds, the figures of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LinkageConfig:
    """Thresholds are set by the data team, not fitted to truth: link at or above ``link``, review in between."""

    link: float = 0.95
    review_lower: float = 0.5
    link_floor: float = 0.8  # reviewers' labels may bring the link threshold down to here, not further
    max_pairs_u: float = 2e6
    # EM trains on at most about this many pairs of each EM blocking rule, sampled by record (Splink's
    # max_pairs): birth_date alone blocks 41 million pairs at 500,000 residents, which took 12 GB and two minutes
    # for the same estimates (person F1 0.9997 either way there); a city below it trains on every pair
    max_pairs_em: float = 1e7
    # a record sharing a key with the key's anchor is not linked on the key when the evidence about who it is
    # (each level's match weight bounded to ±key_conflict_bound) sums below key_conflict_weight. Chosen from the
    # simulated city: genuine key pairs weigh 0 or more (one of name and birth date disagreeing: about +1; no
    # evidence: 0), borrowed keys -9.5 (a related firm) to -20 (name and birth date both disagree)
    key_conflict_weight: float = -5.0
    key_conflict_bound: float = 10.0


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
    # comparisons that say nothing about whether a shared key is the record's own: the key comparisons, and
    # for persons the address (a borrowed 宛名番号 is mostly a family member's, at the same address)
    not_key_evidence: tuple[str, ...] = ()

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
    key_conflicts: int = 0
    labels: int = 0  # reviewers' decisions with a score: the band's precision and recall on them
    label_precision: float | None = None
    label_recall: float | None = None
    model: dict = field(repr=False, default_factory=dict)
    chart_path: Path | None = None
