"""Releases: the lake snapshots in which a build of the marts was complete.

A refresh writes the marts over many snapshots (one per model), so a reader pinned to an arbitrary
snapshot could see a new ``dim_person`` beside an old department mart. A build that finished records
its snapshot in ``ops.releases``; the API serves the newest release, and "what did the city know on
that date" is answered by the release current then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from core.lake import LAKE_ALIAS as L

TABLE = f"{L}.ops.releases"


@dataclass(frozen=True)
class Release:
    release_id: int
    snapshot_id: int
    released_at: dt.datetime
    note: str


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {TABLE} (release_id bigint, snapshot_id bigint, "
                "released_at timestamp with time zone, note varchar)")


def mark_release(con: duckdb.DuckDBPyConnection, note: str) -> Release:
    """Record the lake's current snapshot as a release (the marts in it are complete)."""
    _ensure(con)
    con.execute("begin")
    try:
        snapshot_id = con.execute(f"select id from {L}.current_snapshot()").fetchone()[0]
        release_id = con.execute(f"select coalesce(max(release_id), 0) + 1 from {TABLE}").fetchone()[0]
        now = dt.datetime.now(dt.UTC)
        con.execute(f"insert into {TABLE} values (?, ?, ?, ?)", [release_id, snapshot_id, now, note])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return Release(release_id, snapshot_id, now, note)


def latest_release(con: duckdb.DuckDBPyConnection, at: dt.datetime | None = None) -> Release | None:
    """The newest release (as of ``at`` when given), or None when no build has finished yet."""
    sql = f"select release_id, snapshot_id, released_at, note from {TABLE}"
    params: list = []
    if at is not None:
        sql += " where released_at <= ?"
        params.append(at)
    try:
        row = con.execute(sql + " order by release_id desc limit 1", params).fetchone()
    except duckdb.CatalogException:  # no build has ever released
        return None
    return Release(*row) if row else None


def resolve_snapshot(con: duckdb.DuckDBPyConnection, *, release: int | None = None, at: dt.datetime | None = None,
                     snapshot: int | None = None) -> int:
    """The snapshot a time-travel question means: an explicit snapshot, a release, or the release that
    was current at a time (what the API served then). Raises ValueError when there is none."""
    if snapshot is not None:
        return snapshot
    if release is not None:
        try:
            row = con.execute(f"select snapshot_id from {TABLE} where release_id = ?", [release]).fetchone()
        except duckdb.CatalogException:
            row = None
        if row is None:
            raise ValueError(f"no release {release}")
        return row[0]
    found = latest_release(con, at=at)
    if found is None:
        raise ValueError(f"no release at or before {at}" if at else "no release yet")
    return found.snapshot_id


def mart_checksums(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> dict[str, tuple[int, str]]:
    """Rows and an order-independent row-level checksum of every table in ``schema``: equal checksums
    mean equal multisets of rows (the sum of the rows' hashes, so duplicates do not cancel out)."""
    tables = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ? order by 1",
        [L, schema]).fetchall()]
    out = {}
    for t in tables:
        n, s = con.execute(f'select count(*), coalesce(sum(hash(x)::hugeint), 0) from {L}.{schema}."{t}" x'
                           ).fetchone()
        out[t] = (n, format(int(s) % (1 << 128), "032x"))
    return out
