"""The API's transactional store: clients, resident credentials, consents and the access log.

SQLite (WAL, ``synchronous=FULL``: a commit is on disk when it returns; the access-log writer's own store
syncs its WAL apart from the commit, :meth:`Store.for_log_writer`) under the home by default;
PostgreSQL when ``ONESOURCE_API_STORE_DSN`` is set. SQL is written once with ``?`` placeholders and
translated for psycopg. Connections are per thread: the event loop reads on its own, the access-log
writer commits on its own, and SQLite's WAL lets the reads go on while it writes.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings, get_settings

SCHEMA = [
    """create table if not exists clients (
        client_id text primary key,
        name text not null,
        kind text not null check (kind in ('department', 'private')),
        organisation text not null,
        key_hash text not null,
        rate_per_second double precision not null,
        burst integer not null,
        created_at text not null,
        revoked_at text
    )""",
    """create table if not exists client_purposes (
        client_id text not null references clients (client_id),
        purpose_id text not null,
        primary key (client_id, purpose_id)
    )""",
    """create table if not exists resident_credentials (
        credential_id text primary key,
        person_id text not null,
        token_hash text not null,
        created_at text not null,
        expires_at text not null,
        revoked_at text
    )""",
    """create table if not exists consents (
        consent_id text primary key,
        person_id text not null,
        purpose_id text not null,
        client_id text not null references clients (client_id),
        granted_at text not null,
        expires_at text,
        revoked_at text,
        collection_method text not null,
        receipt text not null
    )""",
    "create index if not exists consents_lookup on consents (person_id, purpose_id, client_id)",
    # one consent in force per (resident, purpose, recipient): stores written before this rule keep only the
    # newest of any duplicates (the older ones are marked revoked when they were granted), then the database
    # holds the rule against any writer
    """update consents set revoked_at = granted_at where revoked_at is null and exists (
        select 1 from consents c2 where c2.person_id = consents.person_id and c2.purpose_id = consents.purpose_id
        and c2.client_id = consents.client_id and c2.revoked_at is null
        and (c2.granted_at > consents.granted_at or (c2.granted_at = consents.granted_at
             and c2.consent_id > consents.consent_id)))""",
    "create unique index if not exists consents_one_live on consents (person_id, purpose_id, client_id) "
    "where revoked_at is null",
    """create table if not exists access_log (
        seq bigint primary key,
        at text not null,
        request_id text not null,
        client_id text not null,
        actor text not null,
        subject_kind text not null,
        subject_id text,
        purpose_id text,
        legal_basis text,
        consent_id text,
        fields text not null,
        snapshot_id bigint,
        outcome text not null,
        prev_hash text not null,
        hash text not null
    )""",
    "create index if not exists access_log_subject on access_log (subject_id, seq)",
    """create table if not exists access_log_head (
        id integer primary key check (id = 1),
        seq bigint not null,
        hash text not null,
        mac text not null
    )""",
]


def iso_utc(ts: dt.datetime) -> str:
    """Timestamps are stored as ISO 8601 UTC text, so both databases order and compare them alike."""
    return ts.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_utc() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


class Store:
    """One store: ``dsn`` None means SQLite at ``path``."""

    WAL_RESTART_FRAMES = 4000  # pages of 4 KiB

    def __init__(self, dsn: str | None, path: Path | None = None, sync_commits: bool = True) -> None:
        self.dsn = dsn
        self.path = path
        self.is_postgres = dsn is not None
        # False (SQLite): a commit is not fsynced by SQLite itself; :meth:`sync` makes every commit so far durable
        self.sync_commits = sync_commits or self.is_postgres
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        if not self.is_postgres:
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Store:
        settings = settings or get_settings()
        dsn = settings.api_store_dsn.get_secret_value() if settings.api_store_dsn else None
        return cls(dsn, settings.api_store_path)

    def for_log_writer(self) -> Store:
        """The same store on connections of its own whose commits (on SQLite) are synced by :meth:`sync`, not by
        the commit: the access-log writer commits a batch on the event loop (writes to the page cache, well
        under a millisecond) and waits for the WAL's fsync in a thread while the loop goes on answering. An
        fsync behind a refresh writing gigabytes took 50-100 ms, and inside the commit it held up every
        request (bench/bench_refresh_load.py). A request is still answered only once its entry is on disk."""
        return Store(self.dsn, self.path, sync_commits=False)

    # connections -------------------------------------------------------------------------------
    def _connect(self):
        if self.is_postgres:
            import psycopg

            con = psycopg.connect(self.dsn, autocommit=True)
        else:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            con.execute("pragma journal_mode=wal")
            # NORMAL in WAL mode: the WAL is synced before every checkpoint, never a commit torn; the commit
            # itself is synced by :meth:`sync` (the access-log writer) instead of inside it
            con.execute(f"pragma synchronous={'full' if self.sync_commits else 'normal'}")
            # no checkpoint inside a commit (it would stall the request that triggered it):
            # a background thread checkpoints instead, see :meth:`checkpoint`
            con.execute("pragma wal_autocheckpoint=0")
            con.execute(f"pragma journal_size_limit={64 * 1024 * 1024}")
            con.execute("pragma foreign_keys=on")
        with self._lock:
            self._all.append(con)
        return con

    @property
    def con(self):
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                try:
                    con.close()
                except Exception:  # noqa: BLE001 - closing what another thread may have closed
                    pass
            self._all.clear()
        self._local = threading.local()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.is_postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cur = self.con.execute(self._sql(sql), tuple(params))
        return cur.fetchall() if cur.description else []

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self, lock_log: bool = False) -> Iterator[Any]:
        """A write transaction. ``lock_log`` serializes access-log appends across processes."""
        con = self.con
        if self.is_postgres:
            with con.transaction():
                if lock_log:
                    con.execute("select pg_advisory_xact_lock(7212203)")
                yield self
        else:
            con.execute("begin immediate")
            try:
                yield self
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self.is_postgres:
            with self.con.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self.con.executemany(sql, rows)

    def sync(self) -> None:
        """Make every commit of this store so far durable: what ``synchronous=FULL`` does at each commit (an fsync
        of the WAL), for a store that does not sync its commits. Blocking, without the GIL: call it in a thread."""
        if self.sync_commits:
            return
        fd = os.open(f"{self.path}-wal", os.O_RDONLY)  # by name each time: the WAL is the file SQLite has now
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def checkpoint(self) -> None:
        """Copy the WAL into the database without blocking writers (SQLite only; PostgreSQL does its own)."""
        if self.is_postgres:
            return
        _, frames, _ = self.con.execute("pragma wal_checkpoint(PASSIVE)").fetchone()
        if frames > self.WAL_RESTART_FRAMES:
            # under steady writes a passive checkpoint never sees the log's end, so the WAL would grow
            # for ever; a restart waits for the current writer, then lets the next one start at the top
            self.con.execute("pragma wal_checkpoint(RESTART)")

    @classmethod
    def empty(cls) -> Store:
        """A store with the schema and nothing in it, in memory: what a verifier reads where no store exists
        (a verifier must only read: it never creates the store it checks)."""
        store = cls(None, Path(":memory:"))
        store.create_schema()
        return store

    def holds_log(self) -> bool:
        """Whether the store exists with its access log table, found without creating either."""
        if not self.is_postgres:
            if self.path is None or not self.path.exists():
                return False
            return self.one("select count(*) from sqlite_master where type = 'table' and name = 'access_log'")[0] > 0
        return self.one("select to_regclass('access_log') is not null")[0]

    def create_schema(self) -> None:
        with self.transaction():
            for ddl in SCHEMA:
                self.execute(ddl)
