"""`onesource explain`'s text: every kind of edge prints, with a probability only where the edge has one."""

from __future__ import annotations

from identity.explain import Explanation, as_text, weight


def _edge(a: str, b: str, edge: str, key: str | None, p: float | None) -> dict:
    return {"unique_id_l": a, "unique_id_r": b, "edge": edge, "key_column": key, "match_probability": p,
            "match_weight": weight(p), "run_id": "r1"}


def test_every_kind_of_edge_prints_the_deterministic_ones_without_a_probability():
    edges = [_edge("juki:1", "zei:7", "key", "kojin_bango_token", None),
             _edge("juki:1", "kokuho:3", "score", None, 0.9731),
             _edge("juki:1", "kosodate:2", "exact", None, None),
             _edge("zei:7", "kokuho:3", "reviewer", None, None)]
    x = Explanation("person", "P000000001", {}, [], [], edges, [], [], [])
    text = as_text(x).splitlines()
    assert "つながり / edges (4):" in text
    assert "  juki:1 — zei:7  key kojin_bango_token" in text
    assert f"  juki:1 — kokuho:3  score p=0.9731 w={weight(0.9731)}" in text
    assert "  juki:1 — kosodate:2  exact agreement" in text
    assert "  zei:7 — kokuho:3  reviewer: same" in text
    assert not any("None" in line for line in text)
