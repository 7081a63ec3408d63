"""What a role of the access policy sees, and what it cannot switch off: its login, the lake's tables it can
name, the city's names it must never meet, its auditing that holds against itself."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest


def dsn_as(dsn: str, role: str, password: str) -> str:
    """``dsn`` (a ``postgresql://`` URL) with the role's login instead of its own."""
    p = urlsplit(dsn)
    return urlunsplit(p._replace(netloc=f"{role}:{password}@{p.hostname}:{p.port}"))


def lake_tables(con) -> set[str]:
    """Every ``schema.table`` of the attached lake the connection can name."""
    return {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables() "
                                               "where database_name = 'lake'").fetchall()}


def known_values(admin_con) -> set[str]:
    """The city's names, kana and 宛名番号 (four characters or more), as the golden records hold them."""
    return {v for (v,) in admin_con.execute(
        "select name from lake.marts.dim_person where name is not null union "
        "select name_kana from lake.marts.dim_person where name_kana is not null union "
        "select unnest(atena_bangos) from lake.marts.dim_person").fetchall() if v and len(v) >= 4}


def assert_cannot_switch_off(pg: psycopg.Connection, role: str, setting: str, value: str) -> None:
    """The role, on its own connection ``pg``, can neither set its auditing ``setting`` to none for the session
    nor for itself (it may lift its read-only default, not that), and ``setting`` is still ``value``."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg.execute(f"set {setting} = 'none'")
    pg.rollback()
    pg.execute("set default_transaction_read_only = off")  # the role may lift that; not its auditing
    pg.commit()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg.execute(f"alter role {role} set {setting} = 'none'")
    pg.rollback()
    assert pg.execute(f"show {setting}").fetchone()[0] == value
