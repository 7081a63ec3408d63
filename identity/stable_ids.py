"""Stable ``person_id`` / ``business_id`` across rebuilds and daily deltas.

A cluster inherits the id most of its already-known records carried. When two
known ids end up in one cluster, the id holding more records survives (ties:
the older, lower id) and the other is recorded as merged into it; when the
records of one id end up in several clusters, the cluster holding most of them
keeps the id and the others get new ids recorded as split from it. New ids are
minted in a deterministic order (by the cluster's smallest record id), so the
same deliveries always give the same ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class IdEvent:
    event: str  # created | merged | split | retired
    entity_id: str
    related_id: str | None


def format_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:09d}"


def parse_seq(entity_id: str) -> int:
    return int(entity_id[1:])


def assign(roots: dict[str, str], previous: dict[str, str], prefix: str,
           next_seq: int | None = None) -> tuple[dict[str, str], list[IdEvent]]:
    """Record -> stable id for the new clustering ``roots`` (record -> cluster root), given ``previous`` ids.

    ``roots`` may be a part of the records (an incremental run's re-clustered clusters, holding every record
    of each id they touch); ``next_seq`` is then the first id number not yet used by any record."""
    members: dict[str, list[str]] = defaultdict(list)
    for rec, root in roots.items():
        members[root].append(rec)
    if next_seq is None:
        next_seq = max((parse_seq(i) for i in previous.values()), default=0) + 1
    # every (cluster, old id) claim with its weight: how many of the cluster's records carried that id
    claims: list[tuple[int, str, str]] = []
    for root, recs in members.items():
        for old, n in Counter(previous[r] for r in recs if r in previous).items():
            claims.append((n, old, root))
    # strongest claims first; ties go to the older id, then to the cluster with the smaller record id
    first_rec = {root: min(recs) for root, recs in members.items()}
    claims.sort(key=lambda c: (-c[0], parse_seq(c[1]), first_rec[c[2]]))
    owner: dict[str, str] = {}  # old id -> cluster root that keeps it
    cluster_id: dict[str, str] = {}  # cluster root -> its id
    for _n, old, root in claims:
        if old in owner or root in cluster_id:
            continue
        owner[old] = root
        cluster_id[root] = old
    events: list[IdEvent] = []
    for root in sorted(members, key=lambda r: first_rec[r]):
        if root not in cluster_id:
            cluster_id[root] = format_id(prefix, next_seq)
            next_seq += 1
            olds = sorted({previous[r] for r in members[root] if r in previous}, key=parse_seq)
            if olds:
                events.extend(IdEvent("split", cluster_id[root], o) for o in olds)
            else:
                events.append(IdEvent("created", cluster_id[root], None))
    # an old id that no cluster kept was merged into the id now holding most of its records (or retired)
    for old in sorted(set(previous.values()) - set(owner), key=parse_seq):
        holders = Counter(cluster_id[roots[r]] for r, i in previous.items() if i == old and r in roots)
        if holders:
            top = max(holders.items(), key=lambda kv: (kv[1], -parse_seq(kv[0])))[0]
            events.append(IdEvent("merged", old, top))
        else:
            events.append(IdEvent("retired", old, None))
    return {rec: cluster_id[root] for rec, root in roots.items()}, events
