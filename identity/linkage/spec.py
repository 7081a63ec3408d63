"""What a linkage links and what it reports: the entity's spec, the thresholds, the figures of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
