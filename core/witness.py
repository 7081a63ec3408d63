"""Witnesses: checkpoints of a hash chain kept where the chain's own administrators cannot rewrite them.

A hash chain in a database proves that no entry was edited, inserted or removed in the middle; it cannot
prove by itself that the whole store was not wiped, rolled back to an older backup, or rebuilt by someone
holding the chain's key. A witness closes that: at intervals the chain's head (how many entries, the last
hash, when) is written here, into the lake (``ops.witnesses``, whose history DuckLake keeps snapshot by
snapshot), and the open data publishes every witness the next morning, out of anyone's reach to revise.
Verification then compares the store with the newest witness.

This module only keeps and reads them; what a chain is, and who checkpoints it, lives above the core (the
API's access log, ``onesource accesslog checkpoint``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from core.lake import LAKE_ALIAS as L

TABLE = f"{L}.ops.witnesses"


@dataclass(frozen=True)
class Witness:
    chain: str  # which chain: "api_access_log"
    seq: int  # entries in the chain when witnessed
    head_hash: str
    at: dt.datetime
    mac: str  # over chain, seq, hash and time under the chain's key: a witness row cannot be forged either


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {TABLE} (chain varchar not null, seq bigint not null, "
                "head_hash varchar not null, witnessed_at timestamptz not null, mac varchar not null)")


def record(con: duckdb.DuckDBPyConnection, witness: Witness) -> None:
    _ensure(con)
    con.execute(f"insert into {TABLE} values (?, ?, ?, ?, ?)",
                [witness.chain, witness.seq, witness.head_hash, witness.at, witness.mac])


def history(con: duckdb.DuckDBPyConnection, chain: str) -> list[Witness]:
    """Every witness of ``chain``, oldest first (empty when none was ever taken)."""
    try:
        rows = con.execute(f"select chain, seq, head_hash, witnessed_at, mac from {TABLE} where chain = ? order by witnessed_at, seq",
                           [chain]).fetchall()
    except duckdb.CatalogException:
        return []
    return [Witness(c, int(s), h, a if a.tzinfo else a.replace(tzinfo=dt.UTC), m) for c, s, h, a, m in rows]


PUBLISHED_HEADER = ["連鎖", "件数", "末尾ハッシュ", "記録日時(UTC)", "署名"]


def published_rows(witnesses: list[Witness]) -> list[list]:
    """The rows of the published witness file (the header is PUBLISHED_HEADER)."""
    return [[w.chain, w.seq, w.head_hash, w.at.astimezone(dt.UTC).isoformat(timespec="microseconds"), w.mac]
            for w in witnesses]


def parse_published(data: bytes) -> list[Witness]:
    """The witnesses of a published file (UTF-8, with or without BOM)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    out = []
    for row in rows[1:]:
        if len(row) >= 5 and row[1].isdigit():
            out.append(Witness(row[0], int(row[1]), row[2], dt.datetime.fromisoformat(row[3]), row[4]))
    return out
