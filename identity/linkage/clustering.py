"""Clusters grown from the strongest edge down, under the cannot-link guard."""

from __future__ import annotations

from identity.linkage.spec import LinkageConfig, LinkSpec


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
            deterministic: list[tuple], scored: list[tuple[str, str, float]],
            decisions: list[tuple[str, str, str]], config: LinkageConfig,
            conflicts: list[tuple[str, str]] = ()) -> tuple[dict[str, str], int, int]:
    """Record -> cluster root: deterministic edges and reviewers' matches, then scored edges strongest first.
    A reviewer's no-match and a key conflict (a record and the anchor of the key it carries) forbid a scored
    edge to join their clusters; a reviewer's match settles a conflict."""
    guard = {i: g for i, g in zip(ids, guard_values) if g}
    unique_system = {i: s for i, s in zip(ids, systems) if s in spec.unique_per_entity}
    c = _Clusters(ids, guard, unique_system)
    for a, b, *_key in deterministic:
        c.union(a, b, guarded=False)
    for a, b, decision in decisions:
        if decision == "match" and a in c.parent and b in c.parent:
            c.union(a, b, guarded=False)
    for a, b, decision in decisions:
        if decision == "no_match" and a in c.parent and b in c.parent:
            c.forbid(a, b)
    for a, b in conflicts:
        if a in c.parent and b in c.parent:
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
