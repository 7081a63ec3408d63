"""Dagster's event log, without a new connection per event (SQLite and PostgreSQL).

Dagster's own ``SqliteEventLogStorage`` opens a connection per event and commits it with SQLite's default
``synchronous=FULL``: every event waits for an fsync of the write-ahead log, twice for an asset event (the
run's shard and the cross-run index). A daily refresh writes about 500 events (a materialization and a
planned materialization per model, a planned and an evaluated check per dbt test), so at about 10 ms each
the instance's bookkeeping cost seconds of every run. This storage is the same class with
``synchronous=NORMAL`` on each connection: in WAL mode a commit is then written, not synced, and is
synced at the next checkpoint. A crash of the process loses nothing; a power cut of the machine can lose
the events of the last moments (never the lake's data, which the lake's catalog commits on its own), and
never corrupts the database. The layout on disk is Dagster's (``storage/history/runs/``), so an instance
written before keeps its history.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster_postgres.event_log.event_log import PostgresEventLogStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool


def _unsynced(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class LocalEventLogStorage(SqliteEventLogStorage):
    """The embedded instance's event log: Dagster's SQLite shards, committed without an fsync per event, through
    an engine kept per shard (Dagster's creates one per event, and building an engine costs more than the write)."""

    _KEEP_ENGINES = 8  # the index and the shards of the runs this process writes or reads now

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engines: OrderedDict[str, Engine] = self.__dict__.setdefault("_engines", OrderedDict())
        engine = engines.get(shard)
        if engine is None:
            # one connection kept open per shard (closing the last connection of a WAL database checkpoints
            # it); the storage's lock already lets one thread at a time use a shard
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1,
                                   max_overflow=2, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                                 "check_same_thread": False})
            event.listen(engine, "connect", _unsynced)
            engines[shard] = engine
            while len(engines) > self._KEEP_ENGINES:
                engines.popitem(last=False)[1].dispose()
        engines.move_to_end(shard)
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Asked before many index writes, some inside an open index connection (so not through ``_connect``,
        whose lock is held then); Dagster builds an engine for each question."""
        engine = self.__dict__.get("_schema_engine")
        if engine is None:
            engine = self.__dict__["_schema_engine"] = create_engine(
                self.conn_string_for_shard(INDEX_SHARD_NAME), poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def _dispose_engines(self) -> None:
        for engine in [*self.__dict__.pop("_engines", {}).values(), self.__dict__.pop("_schema_engine", None)]:
            if engine is not None:
                engine.dispose()

    def wipe(self) -> None:
        with self._db_lock:
            self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """The event log on PostgreSQL (the production layout), through one connection kept open per process, as
    dagster-webserver keeps it: dagster-postgres opens a new connection for every event otherwise."""

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledPostgresEventLogStorage:
        storage = cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                      should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                      token_provider=get_token_provider_from_config(config_value))
        storage._engine.dispose()
        storage._engine = create_pg_engine(storage.postgres_url, storage._token_provider, isolation_level="AUTOCOMMIT",
                                           pool_size=1, max_overflow=4, pool_recycle=3600, pool_pre_ping=True)
        return storage
