"""The lake: a DuckLake catalog with Parquet data under ``ONESOURCE_HOME``. The catalog is the platform's own
PostgreSQL server under the home by default (``core.catalog_server``, started on demand), an
external PostgreSQL server (``ONESOURCE_CATALOG_DSN``), or a SQLite file in WAL mode for a single operator
(``ONESOURCE_CATALOG=sqlite``).

DuckDB extensions are never downloaded: they are installed from the
``duckdb-extension-*`` wheels into a project-local extension directory.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

import duckdb

from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

LAKE_ALIAS = "lake"
SCHEMAS = ("bronze", "quarantine", "ops", "staging", "identity", "marts", "opendata", "restricted")
# extension name -> the python package of its wheel
EXTENSION_WHEELS = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",  # OpenSSL, for DuckLake's encrypted data files
}


def _wheel_extension_file(name: str) -> Path:
    pkg = importlib.resources.files(EXTENSION_WHEELS[name])
    path = Path(str(pkg)) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(
            f"DuckDB extension {name} for DuckDB {duckdb.__version__} is not in its wheel "
            f"({EXTENSION_WHEELS[name]}); reinstall from requirements.lock"
        )
    return path


def install_extensions(settings: Settings | None = None) -> Path:
    """Install the extensions from their wheels into the project-local directory (idempotent)."""
    settings = settings or get_settings()
    ext_dir = settings.duckdb_extension_dir
    ext_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config=_duckdb_config(settings))
    try:
        installed = {
            r[0]
            for r in con.execute(
                "select extension_name from duckdb_extensions() where installed"
            ).fetchall()
        }
        for name in EXTENSION_WHEELS:
            if name not in installed:
                con.execute(f"INSTALL '{_wheel_extension_file(name)}'")
                log.info("installed DuckDB extension %s into %s", name, ext_dir)
    finally:
        con.close()
    return ext_dir


def _duckdb_config(settings: Settings) -> dict[str, str | bool | int]:
    return {
        "extension_directory": str(settings.duckdb_extension_dir),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
        "memory_limit": settings.duckdb_memory_limit,
        "threads": settings.duckdb_threads,
    }


def ensure_sqlite_catalog(path: Path) -> None:
    """Create the SQLite catalog file in WAL mode, so readers never block the writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        mode = con.execute("pragma journal_mode=wal").fetchone()[0]
        if mode != "wal":
            raise RuntimeError(f"could not put the catalog {path} in WAL mode (got {mode})")
    finally:
        con.close()


def attach_sql(settings: Settings, read_only: bool = False, snapshot_id: int | None = None) -> str:
    """The ATTACH statement of the lake for these settings (no secrets logged by callers).

    ``snapshot_id`` attaches the whole lake as it was at that snapshot (read-only time travel)."""
    # no data inlining: small inserts would go into catalog tables, one per table and schema version, and a
    # daily refresh's commits grow slower as they pile up (measured at 500k: 10 ms to 45 ms per commit over
    # 30 days); tiny Parquet files instead, which `onesource maintain` merges
    opts = [f"DATA_PATH '{settings.data_path_url}'", "DATA_INLINING_ROW_LIMIT 0"]
    if settings.catalog_dsn is not None:
        target = f"ducklake:postgres:{settings.catalog_dsn.get_secret_value()}".replace("'", "''")
        opts.append(f"METADATA_SCHEMA '{settings.catalog_schema}'")
    else:
        target = f"ducklake:sqlite:{settings.catalog_path}"
    if settings.encrypted:  # every data file gets its own key, kept in the catalog (permission first)
        opts.append("ENCRYPTED")
    if snapshot_id is not None:
        opts.append(f"SNAPSHOT_VERSION {int(snapshot_id)}")
        read_only = True
    if read_only:
        opts.append("READ_ONLY")
    return f"ATTACH '{target}' AS {LAKE_ALIAS} ({', '.join(opts)})"


def s3_secret_sql(settings: Settings) -> str | None:
    """The DuckDB secret through which a session reads and writes an s3:// data path (None for a local one).
    Values are escaped for a string literal; the statement is never logged."""
    if settings.data_path_is_local:
        return None
    if settings.s3_key_id is None or settings.s3_key is None:
        raise RuntimeError("an s3:// data path needs ONESOURCE_S3_KEY_ID and ONESOURCE_S3_KEY")

    def lit(v: str) -> str:
        return "'" + v.replace("'", "''") + "'"

    opts = [f"KEY_ID {lit(settings.s3_key_id.get_secret_value())}", f"SECRET {lit(settings.s3_key.get_secret_value())}",
            f"REGION {lit(settings.s3_region)}", f"URL_STYLE {lit(settings.s3_url_style)}",
            f"USE_SSL {'true' if settings.s3_use_ssl else 'false'}"]
    if settings.s3_endpoint:
        opts.append(f"ENDPOINT {lit(settings.s3_endpoint)}")
    return f"CREATE OR REPLACE SECRET onesource_data (TYPE s3, {', '.join(opts)})"


def prepare_session(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """What a session needs before it touches the lake's files: OpenSSL for the encrypted mode, and the object
    store's secret for an s3:// data path (httpfs brings both)."""
    secret = s3_secret_sql(settings)
    if settings.encrypted or secret:
        con.execute("LOAD httpfs")
    if secret:
        con.execute(secret)


def metadata(con: duckdb.DuckDBPyConnection) -> str:
    """The qualified schema of the attached lake's DuckLake metadata tables (``ducklake_data_file``...): the
    metadata database itself with SQLite, its ``METADATA_SCHEMA`` inside it with PostgreSQL."""
    db = f"__ducklake_metadata_{LAKE_ALIAS}"
    path, schema = con.execute("select path, options['metadata_schema'] from duckdb_databases() "
                               "where database_name = ?", [LAKE_ALIAS]).fetchone()
    if not str(path).startswith("postgres:"):
        return db
    return f'{db}."{schema or "public"}"'


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, names: list[str], rows: list[tuple]) -> None:
    """Append Python rows to a lake table through Arrow (``executemany`` costs a round trip per row)."""
    if not rows:
        return
    import pyarrow as pa

    columns = list(zip(*rows))
    batch = pa.table({n: pa.array(list(c)) for n, c in zip(names, columns)})  # noqa: F841 - read by name below
    cols = ", ".join(f'"{n}"' for n in names)
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM batch")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether ``lake.<schema>.<table>`` exists (tables a later stage creates may not yet)."""
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = ? and "
                            "table_name = ?", [LAKE_ALIAS, schema, table]).fetchone()[0])


def dict_rows(cursor) -> list[dict]:
    """A query's rows as dictionaries by column name."""
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r)) for r in cursor.fetchall()]


def snapshots(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The lake's snapshots, oldest first (id, time, schema version, changes...)."""
    return con.execute(f"select * from {LAKE_ALIAS}.snapshots() order by snapshot_id").fetchall()


def _attach(con: duckdb.DuckDBPyConnection, statement: str) -> None:
    """ATTACH the lake; when two processes are the first ever to attach a new PostgreSQL catalog, one of them
    fails to initialize it (the other did): it attaches again once the other is done."""
    for attempt in range(6):
        try:
            con.execute(statement)
            return
        except duckdb.Error as exc:
            if "Failed to initialize DuckLake" not in str(exc) or attempt == 5:
                raise
            time.sleep(0.3 * (attempt + 1))


# DuckLake 1.0 (DuckDB 1.5.5) loads an attached lake's catalog lazily, and when the first statement scans it
# from two threads at once (SHOW ALL TABLES joins duckdb_tables() and duckdb_columns()), one thread may see
# part of it: SHOW ALL TABLES then lists none or some of the tables (duckdb/ducklake#1280, open). One scan
# before anyone else loads it whole. tests/core/test_lake.py fails when this stops being enough.
CATALOG_LOAD = f"SELECT count(*) FROM duckdb_tables() WHERE database_name = '{LAKE_ALIAS}'"


def load_catalog(con: duckdb.DuckDBPyConnection) -> None:
    """Load the attached lake's catalog at once (see CATALOG_LOAD)."""
    con.execute(CATALOG_LOAD).fetchone()


def _create_schema(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """CREATE SCHEMA IF NOT EXISTS, when another process may be creating it at the same moment (two first runs
    on a new PostgreSQL catalog): DuckLake then reports a conflict, and the schema exists on the next look."""
    for attempt in range(5):
        try:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {LAKE_ALIAS}.{schema}")
            return
        except duckdb.TransactionException:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def connect(settings: Settings | None = None, read_only: bool = False,
            snapshot_id: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the lake attached as ``lake`` and its schemas created.

    With ``snapshot_id`` the lake is attached read-only as it was at that snapshot: every query sees
    exactly what the city knew then."""
    settings = settings or get_settings()
    install_extensions(settings)
    settings.ensure_data_path()
    ensure_catalog(settings)
    con = duckdb.connect(config=_duckdb_config(settings))
    try:
        prepare_session(con, settings)
        _attach(con, attach_sql(settings, read_only=read_only, snapshot_id=snapshot_id))
        load_catalog(con)
        if not read_only and snapshot_id is None:
            existing = {r[0] for r in con.execute("select schema_name from duckdb_schemas() where database_name = ?",
                                                  [LAKE_ALIAS]).fetchall()}
            for schema in (s for s in SCHEMAS if s not in existing):
                _create_schema(con, schema)
    except Exception:
        con.close()
        raise
    return con


def ensure_catalog(settings: Settings) -> None:
    """The catalog ready to attach: the SQLite file in WAL mode, or the embedded server up (started if it is not;
    a pid-file read when it is). An external server is the city's to run."""
    if settings.catalog_dsn is None:
        ensure_sqlite_catalog(settings.catalog_path)
    elif settings.catalog_embedded:
        from core import catalog_server

        catalog_server.ensure_running(settings.lake_dir, settings.catalog_passfile, settings.catalog_listen)


def stop_catalog(settings: Settings) -> bool:
    """Stop this home's embedded catalog server (fast shutdown: sessions are ended, committed work kept). False
    when it was not running or the catalog is not the embedded one."""
    if not settings.catalog_embedded:
        return False
    from core import catalog_server

    return catalog_server.stop(settings.lake_dir)


def reset(settings: Settings) -> None:
    """Remove the platform's own lake to start a new city: stop its embedded catalog server, then delete
    ``home/lake`` (the catalog, SQLite's or the server's cluster, and the data files under it). Refuses an
    external catalog, which is the city's to drop."""
    import shutil

    if settings.catalog_dsn is not None and not settings.catalog_embedded:
        raise RuntimeError("the catalog is an external PostgreSQL server (ONESOURCE_CATALOG_DSN): drop its "
                           "DuckLake schema there; the platform does not delete it")
    stop_catalog(settings)
    if settings.lake_dir.exists():
        shutil.rmtree(settings.lake_dir)


class LakeBusy(RuntimeError):
    """Another run holds the claim this one needs, for longer than it may wait."""


_held: dict[str, list] = {}  # claim name -> [count, handle] held by this process (claims are re-entrant)
_held_lock = threading.RLock()


@contextlib.contextmanager
def exclusive(settings: Settings, name: str, wait_seconds: float | None = None):
    """Hold the claim ``name`` on this lake against every other process (re-entrant within one).

    The embedded default takes an exclusive ``flock`` on a file beside its catalog; a PostgreSQL catalog
    takes a session advisory lock on the catalog's server, so writers on several machines see each other.
    A claim held by another run is waited for (``lake_lock_wait_seconds``), with a message; past that,
    :class:`LakeBusy` names what to do."""
    wait = settings.lake_lock_wait_seconds if wait_seconds is None else wait_seconds
    key = f"{settings.catalog_dsn.get_secret_value() if settings.catalog_dsn else settings.catalog_path}#{name}"
    with _held_lock:
        if key in _held:
            _held[key][0] += 1
            try:
                yield
            finally:
                _held[key][0] -= 1
            return
        handle = _acquire(settings, name, wait)
        _held[key] = [1, handle]
    try:
        yield
    finally:
        with _held_lock:
            _held[key][0] -= 1
            if _held[key][0] == 0:
                _release(_held.pop(key)[1])


def writer_claim(settings: Settings, shared: str | None = None):
    """The claim a run that writes holds: on the embedded default the lake's one writer, whatever the stage
    (its SQLite catalog takes one writer at a time); on a PostgreSQL catalog, which takes several, the claim
    ``shared`` (one transformation stage at a time), or none where the caller claims finer (each delivery)."""
    if settings.catalog_dsn is None:
        return exclusive(settings, "writer")
    return exclusive(settings, shared) if shared else contextlib.nullcontext()


def _acquire(settings: Settings, name: str, wait: float):
    deadline = time.monotonic() + wait
    told = False
    if settings.catalog_dsn is not None:
        import psycopg

        ensure_catalog(settings)
        con = psycopg.connect(settings.catalog_dsn.get_secret_value(), autocommit=True)
        while not con.execute("select pg_try_advisory_lock(hashtext(%s))", [f"onesource:{name}"]).fetchone()[0]:
            if time.monotonic() > deadline:
                con.close()
                raise LakeBusy(_busy_message(name, wait))
            told = told or _tell_waiting(name)
            time.sleep(0.5)
        return con
    import fcntl

    locks = settings.lake_dir / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    f = (locks / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.lock").open("a+")
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                f.close()
                raise LakeBusy(_busy_message(name, wait)) from None
            told = told or _tell_waiting(name)
            time.sleep(0.2)
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
    f.flush()
    return f


def _release(handle) -> None:
    try:
        handle.close()  # closing the file drops the flock; closing the session drops the advisory lock
    except Exception:  # noqa: BLE001 - a handle already gone holds nothing
        pass


def _tell_waiting(name: str) -> bool:
    logging.getLogger("onesource.lake").warning("another run holds %s on this lake: waiting for it", name)
    return True


def _busy_message(name: str, wait: float) -> str:
    return (f"another run still holds {name} on this lake after {wait:.0f} s; nothing was written. Let it finish "
            "(see Dagster's runs or `ps`), then run this again")
