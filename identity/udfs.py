"""The normalization functions as DuckDB scalar functions (``os_*``), for dbt's staging models.

Registered on every dbt connection by the dbt-duckdb plugin in ``identity.dbt_functions``;
staging models are materialized as tables, so nothing downstream needs them.

They are Arrow (vectorized) functions over memoized Python: DuckDB hands over a column chunk at a
time, each distinct value is normalized once (names, dates and addresses repeat across a city's
records: 9,000 distinct names in 700,000 tax records), and the results go back as one Arrow array.
Row-at-a-time UDFs spent more time converting each returned struct than normalizing it.
"""

from __future__ import annotations

import datetime as dt
import functools

import duckdb
import pyarrow as pa

from core.era import EraDateError, parse_era7, parse_free_date
from identity import normalize as n

ADDRESS = duckdb.struct_type({"in_city": "BOOLEAN", "town": "VARCHAR", "chome": "INTEGER", "ban": "INTEGER",
                              "go": "INTEGER", "katagaki": "VARCHAR", "key": "VARCHAR", "canonical": "VARCHAR",
                              "rest": "VARCHAR", "outside_key": "VARCHAR"})
COMPANY = duckdb.struct_type({"core": "VARCHAR", "form": "VARCHAR", "form_position": "VARCHAR"})
ERA_DATE = duckdb.struct_type({"date": "DATE", "year": "INTEGER", "month": "INTEGER", "day": "INTEGER",
                               "precision": "VARCHAR"})


def _address(text: str | None) -> dict | None:
    a = n.parse_address(text)
    return None if a is None else a.as_dict()


def _company(text: str | None) -> dict | None:
    if text is None:
        return None
    c = n.company(text)
    return {"core": c.core, "form": c.form, "form_position": c.form_position}


def _era_parts(d) -> dict:
    full = d.date if d.precision == "day" else None
    return {"date": full, "year": d.year, "month": d.month, "day": d.day, "precision": d.precision}


def _era7(text: str | None) -> dict | None:
    """7-digit era date: the date only when the day is known; year, month, day and precision kept apart."""
    if text is None:
        return None
    try:
        return _era_parts(parse_era7(text))
    except EraDateError:
        return None


def _day(value: dt.date | None) -> dict | None:
    if value is None:
        return None
    return {"date": value, "year": value.year, "month": value.month, "day": value.day, "precision": "day"}


def _free(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        return _era_parts(parse_free_date(text))
    except EraDateError:
        return None


FUNCTIONS = [
    ("os_name_key", n.name_key, ["VARCHAR"], "VARCHAR"),
    ("os_name_display", n.name_display, ["VARCHAR"], "VARCHAR"),
    ("os_surname", lambda v: n.split_name(v)[0], ["VARCHAR"], "VARCHAR"),
    ("os_given_name", lambda v: n.split_name(v)[1], ["VARCHAR"], "VARCHAR"),
    ("os_kana_key", n.kana_key, ["VARCHAR"], "VARCHAR"),
    ("os_kana_display", n.kana_display, ["VARCHAR"], "VARCHAR"),
    ("os_phone_key", n.phone_key, ["VARCHAR"], "VARCHAR"),
    ("os_address", _address, ["VARCHAR"], ADDRESS),
    ("os_company", _company, ["VARCHAR"], COMPANY),
    ("os_era7", _era7, ["VARCHAR"], ERA_DATE),
    ("os_day", _day, ["DATE"], ERA_DATE),
    ("os_free_date", _free, ["VARCHAR"], ERA_DATE),
]


def _arrow_type(t) -> pa.DataType:
    """The Arrow type of a DuckDB return type used here."""
    if isinstance(t, str):
        return {"VARCHAR": pa.string(), "DATE": pa.date32(), "INTEGER": pa.int32(), "BOOLEAN": pa.bool_()}[t]
    return pa.struct([(name, _arrow_type(str(child))) for name, child in t.children])


def _vectorized(fn, ret) -> callable:
    """``fn`` over a whole Arrow chunk, each distinct value computed once per process (bounded cache)."""
    cached = functools.lru_cache(maxsize=1 << 17)(fn)
    out_type = _arrow_type(ret)

    def call(column: pa.Array) -> pa.Array:
        return pa.array([cached(v) for v in column.to_pylist()], type=out_type)

    return call


def register(con: duckdb.DuckDBPyConnection) -> None:
    for name, fn, args, ret in FUNCTIONS:
        try:
            con.remove_function(name)
        except Exception:  # noqa: BLE001 - not registered yet
            pass
        con.create_function(name, _vectorized(fn, ret), args, ret, type="arrow",
                            null_handling="special", side_effects=False)
