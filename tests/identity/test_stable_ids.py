"""Stable ids: never renumber a known entity; merges and splits are recorded."""

from __future__ import annotations

from identity.stable_ids import IdEvent, assign


def test_first_run_mints_ids_in_a_deterministic_order():
    roots = {"a": "a", "b": "a", "c": "c"}
    ids, events = assign(roots, {}, "P")
    assert ids == {"a": "P000000001", "b": "P000000001", "c": "P000000002"}
    assert [e.event for e in events] == ["created", "created"]
    again, _ = assign({"c": "c", "b": "a", "a": "a"}, {}, "P")
    assert again == ids


def test_known_records_keep_their_id_and_new_ones_join_or_get_new_ids():
    prev = {"a": "P000000001", "b": "P000000001", "c": "P000000002"}
    ids, events = assign({"a": "x", "b": "x", "d": "x", "c": "c", "e": "e"}, prev, "P")
    assert ids["d"] == "P000000001" and ids["c"] == "P000000002" and ids["e"] == "P000000003"
    assert events == [IdEvent("created", "P000000003", None)]


def test_merge_keeps_the_larger_id_and_records_the_other():
    prev = {"a": "P000000001", "b": "P000000002", "c": "P000000002"}
    ids, events = assign({"a": "r", "b": "r", "c": "r"}, prev, "P")
    assert set(ids.values()) == {"P000000002"}  # two records carried it, one carried P1
    assert events == [IdEvent("merged", "P000000001", "P000000002")]


def test_split_keeps_the_id_with_the_larger_part():
    prev = {"a": "P000000005", "b": "P000000005", "c": "P000000005"}
    ids, events = assign({"a": "a", "b": "a", "c": "c"}, prev, "P")
    assert ids["a"] == ids["b"] == "P000000005"
    assert ids["c"] == "P000000006"
    assert events == [IdEvent("split", "P000000006", "P000000005")]


def test_rebuild_with_the_same_clusters_changes_nothing():
    prev = {"a": "P000000007", "b": "P000000007", "c": "P000000009"}
    ids, events = assign({"a": "b", "b": "b", "c": "c"}, prev, "P")
    assert ids == prev and events == []
