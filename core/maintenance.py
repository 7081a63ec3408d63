"""The lake's retention policy: what time travel keeps, and what it gives back.

DuckLake never deletes a file on its own: every snapshot stays readable, so a lake refreshed daily only
grows. The policy:

- **every release is kept** (``ops.releases``): "what did the city know on that date" is answered by the
  release current then, so the snapshots of releases are never expired;
- the snapshots **between releases** (the steps inside a build: one per model, the linkage, the
  ingestion's batches) are kept ``snapshot_keep_days`` days, long enough to inspect a failed or odd build,
  then expired;
- the files only expired snapshots used are deleted (``ducklake_cleanup_old_files``), and small adjacent
  files (the daily deltas of incremental tables) are merged (``ducklake_merge_adjacent_files``), which
  leaves every kept snapshot readable as before.

``onesource maintain`` runs it (``--dry-run`` lists what it would expire); the nightly Dagster job runs it
after the release.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from core import lake
from core.lake import LAKE_ALIAS as L


@dataclass(frozen=True)
class MaintenanceReport:
    snapshots_before: int
    expired: list[int]
    files_deleted: int
    files_merged: int
    bytes_before: int
    bytes_after: int


def _data_bytes(con: duckdb.DuckDBPyConnection) -> int:
    """Bytes of the data and delete files the catalog still knows (live or kept for time travel)."""
    meta = lake.metadata(con)
    return con.execute(f"""select coalesce(sum(file_size_bytes), 0) from (
        select file_size_bytes from {meta}.ducklake_data_file union all
        select file_size_bytes from {meta}.ducklake_delete_file
        union all select 0)""").fetchone()[0]


def expirable_snapshots(con: duckdb.DuckDBPyConnection, keep_days: float,
                        now: dt.datetime | None = None) -> list[int]:
    """Snapshots older than ``keep_days`` that no release names (never the newest one)."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=keep_days)
    try:
        released = {r[0] for r in con.execute(f"select snapshot_id from {L}.ops.releases").fetchall()}
    except duckdb.CatalogException:  # nothing released yet: nothing may be expired
        return []
    if not released:
        return []
    rows = con.execute(f"select snapshot_id, snapshot_time from {L}.snapshots() order by snapshot_id").fetchall()
    newest = rows[-1][0]
    return [s for s, t in rows if s not in released and s != newest and t < cutoff]


def maintain(con: duckdb.DuckDBPyConnection, keep_days: float, dry_run: bool = False,
             now: dt.datetime | None = None) -> MaintenanceReport:
    """Apply the retention policy to the attached lake (see the module's docstring)."""
    n_snapshots = con.execute(f"select count(*) from {L}.snapshots()").fetchone()[0]
    expired = expirable_snapshots(con, keep_days, now)
    before = _data_bytes(con)
    if dry_run:
        return MaintenanceReport(n_snapshots, expired, 0, 0, before, before)
    if expired:
        con.execute(f"call ducklake_expire_snapshots('{L}', versions => {expired})")
    merged = con.execute(f"call ducklake_merge_adjacent_files('{L}')").fetchall()
    deleted = con.execute(f"call ducklake_cleanup_old_files('{L}', cleanup_all => true)").fetchall()
    return MaintenanceReport(n_snapshots, expired, len(deleted), len(merged), before, _data_bytes(con))
