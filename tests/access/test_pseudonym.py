"""The analysis zone's pseudonyms as DuckDB computes them (the macro dbt's models call) are exactly the HMAC
that :func:`access.pseudonym.pseudonym` defines, for any key length and any text, and exist only
on the connection they were registered on."""

from __future__ import annotations

import duckdb
import pytest

from access.pseudonym import pseudonym, register

VALUES = ["P0000000001", "H12345", "市川　太郎", "", "x" * 300, None]


@pytest.mark.parametrize("key", [b"a secret of exactly thirty-two b", b"k" * 64, b"a longer secret " * 8, b"short"])
def test_the_macro_is_the_hmac(key):
    con = duckdb.connect()
    register(con, key)
    for kind in ("person", "household"):
        got = [r[0] for r in con.execute("select os_pseudonym(?, v) from unnest(?) with ordinality t(v, i) order by i",
                                         [kind, VALUES]).fetchall()]
        assert got == [None if v is None else pseudonym(key, kind, v) for v in VALUES]
    assert con.execute("select os_pseudonym(null, 'P1')").fetchone()[0] is None


def test_the_secret_stays_on_its_connection():
    con = duckdb.connect()
    register(con, b"a secret of exactly thirty-two b")
    other = con.cursor()
    with pytest.raises(duckdb.CatalogException):
        other.execute("select os_pseudonym('person', 'P1')")
    assert other.execute("select count(*) from duckdb_variables() where name like 'os_pseudonym%'").fetchone()[0] == 0
    # another key gives other pseudonyms
    register(other, b"another secret of 32 bytes or more!")
    assert (other.execute("select os_pseudonym('person', 'P1')").fetchone()[0]
            != con.execute("select os_pseudonym('person', 'P1')").fetchone()[0])
