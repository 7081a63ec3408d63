"""Witnesses: checkpoints of a hash chain kept where the chain's own administrators cannot rewrite them.

A hash chain in a database proves that no entry was edited, inserted or removed in the middle; it cannot
prove by itself that the whole store was not wiped, rolled back to an older backup, or rebuilt by someone
holding the chain's key. A witness closes that: at intervals the chain's head (how many entries, the last
hash, when) is written here, into the lake (``ops.witnesses``, whose history DuckLake keeps snapshot by
snapshot), and the open data publishes every witness the next morning, out of anyone's reach to revise.
Verification then compares the store with every witness ever taken: the table's whole history, not only
what it holds now (a witness set never shrinks), so that deleting witnesses, or dropping the table, hides
nothing and is itself named (:func:`removed`). History the lake no longer keeps (snapshots expired by
``onesource maintain``) is beyond it; the published witness file covers that span.

This module only keeps and reads them; what a chain is, and who checkpoints it, lives above the core (the
API's access log, ``onesource accesslog checkpoint``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from core.lake import LAKE_ALIAS as L
from core.lake import metadata

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
    return [_witness(c, s, h, a, m) for c, s, h, a, m in rows]


def _incarnations(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int | None]]:
    """(first snapshot, snapshot that dropped it or None) of every table ever named ``ops.witnesses``."""
    meta = metadata(con)
    return con.execute(
        f"select t.begin_snapshot, t.end_snapshot from {meta}.ducklake_table t join {meta}.ducklake_schema s "
        "on s.schema_id = t.schema_id where s.schema_name = 'ops' and t.table_name = 'witnesses' "
        "order by t.begin_snapshot").fetchall()


def _changes(con: duckdb.DuckDBPyConnection, chain: str) -> list[tuple[str, int, Witness]]:
    """(change, snapshot, witness) of every insert into and removal from the witness table, across its
    incarnations: a drop removes what the dropped table held, at the snapshot that dropped it."""
    newest = con.execute(f"select max(snapshot_id) from {L}.snapshots()").fetchone()[0]
    out = []
    for begin, end in _incarnations(con):
        last = newest if end is None else end - 1
        if last < begin:
            continue
        rows = con.execute(f"select change_type, snapshot_id, chain, seq, head_hash, witnessed_at, mac from "
                           f"ducklake_table_changes('{L}', 'ops', 'witnesses', {int(begin)}, {int(last)}) "
                           "where chain = ? order by snapshot_id", [chain]).fetchall()
        out += [(kind, snap, _witness(c, s, h, a, m)) for kind, snap, c, s, h, a, m in rows]
        if end is not None:
            held = con.execute(f"select chain, seq, head_hash, witnessed_at, mac from {TABLE} AT (VERSION => "
                               f"{int(last)}) where chain = ?", [chain]).fetchall()
            out += [("dropped", int(end), _witness(*r)) for r in held]
    return out


def _witness(c, s, h, a, m) -> Witness:
    return Witness(c, int(s), h, a if a.tzinfo else a.replace(tzinfo=dt.UTC), m)


def ever(con: duckdb.DuckDBPyConnection, chain: str) -> list[Witness]:
    """Every witness of ``chain`` the lake's history holds, removed ones included, oldest first."""
    try:
        found = [w for kind, _s, w in _changes(con, chain) if kind in ("insert", "update_postimage")]
    except duckdb.CatalogException:
        found = []
    found += history(con, chain)
    return sorted(set(found), key=lambda w: (w.at, w.seq))


@dataclass(frozen=True)
class Removal:
    witness: Witness
    snapshot: int  # the lake snapshot that deleted it (or dropped its table)
    at: dt.datetime | None  # when that snapshot was committed


def removed(con: duckdb.DuckDBPyConnection, chain: str) -> list[Removal]:
    """Witnesses of ``chain`` deleted from the table, or dropped with it, in the lake's history: nothing
    removes a witness but tampering (a new lake starts a new history)."""
    try:
        gone = [(snap, w) for kind, snap, w in _changes(con, chain) if kind in ("delete", "dropped")]
    except duckdb.CatalogException:
        return []
    if not gone:
        return []
    times = dict(con.execute(f"select snapshot_id, snapshot_time from {L}.snapshots()").fetchall())
    return [Removal(w, int(snap), times.get(snap)) for snap, w in gone]


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
