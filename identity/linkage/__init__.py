"""Person linkage: deterministic links, then Splink trained by EM on the data itself.

Why it is built this way (see ../shared/design/architecture.md):
- 宛名番号 with a valid check digit, the 個人番号 token and the 法人番号 link records
  deterministically, never by a score, unless the rest of the evidence contradicts
  the key (a borrowed key: ``conflicts.py``); then the pair goes to review.
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

from identity.linkage.clustering import cluster
from identity.linkage.comparisons import BUSINESS, PERSON
from identity.linkage.full import Linked, run_linkage
from identity.linkage.incremental import run_linkage_incremental
from identity.linkage.spec import LinkageConfig, LinkageResult, LinkSpec

__all__ = ["BUSINESS", "PERSON", "LinkSpec", "Linked", "LinkageConfig", "LinkageResult", "cluster",
           "run_linkage", "run_linkage_incremental"]
