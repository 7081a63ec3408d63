"""The served release's key index finds exactly the rows a plain dictionary would, for any keys."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from api.served import Rows

KEYS = st.one_of(st.none(), st.sampled_from(["P000000001", "P00000000", "P0000000010", "", "市川", "a\u00e9", "Z"]),
                 st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=12))  # text Arrow can hold
PROBES = st.one_of(KEYS, st.text(st.characters(exclude_characters="\0"), max_size=12))  # lone surrogates too


def _reference(keys: list[str | None]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k is not None:
            found.setdefault(k, []).append(i)
    return found


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(KEYS, max_size=60), probes=st.lists(PROBES, max_size=20), chunks=st.integers(1, 3))
def test_rows_finds_what_a_dictionary_finds(keys: list[str | None], probes: list[str | None], chunks: int) -> None:
    values = list(range(len(keys)))
    step = max(1, -(-len(keys) // chunks))
    parts = [pa.table({"k": pa.array(keys[i:i + step], pa.string()), "v": values[i:i + step]})
             for i in range(0, len(keys), step)] or [pa.table({"k": pa.array([], pa.string()), "v": pa.array([], pa.int64())})]
    table = pa.concat_tables(parts)  # several chunks, as DuckDB hands them over
    rows = Rows(table, "k")
    expected = _reference(keys)
    for probe in [*probes, *expected, "P0000000100000", "P000000001\0"]:
        want = expected.get(probe, []) if probe is not None else []
        assert rows.positions(probe) == want, probe
        assert (probe in rows) == bool(want)
        assert [r["v"] for r in rows.all(probe)] == want
    assert rows.count == len(keys)


def test_rows_of_an_empty_or_all_null_key_column() -> None:
    for column in (pa.array([], pa.string()), pa.array([None, None], pa.string()), pa.array([None], pa.null())):
        rows = Rows(pa.table({"k": column, "v": pa.array([0] * len(column), pa.int64())}), "k")
        assert rows.positions("P000000001") == [] and rows.first("") is None and "" not in rows
