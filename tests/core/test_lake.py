"""The lake: DuckLake on the platform's own PostgreSQL server under the home by default (started on demand,
encrypted files), on a SQLite catalog (WAL) when chosen, on an external PostgreSQL server when configured."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest

from core import lake
from core.settings import Settings, get_settings, mask_dsn


def _roundtrip(settings: Settings) -> None:
    con = lake.connect(settings)
    con.execute("create table lake.bronze.probe as select range as i, 'a' || range as s from range(1000)")
    con.execute("insert into lake.bronze.probe values (1000, 'b')")
    con.close()
    ro = lake.connect(settings, read_only=True)
    assert ro.execute("select count(*), max(i) from lake.bronze.probe").fetchone() == (1001, 1000)
    snapshots = ro.execute("select count(*) from lake.snapshots()").fetchone()[0]
    assert snapshots >= 3  # schemas, create, insert: time travel has something to travel to
    first = ro.execute("select min(snapshot_id) from lake.snapshots() where changes::varchar like '%tables_created%'").fetchone()[0]
    assert ro.execute(f"select count(*) from lake.bronze.probe at (version => {first})").fetchone()[0] == 1000
    schemas = {r[0] for r in ro.execute("select schema_name from duckdb_schemas() where database_name = 'lake'").fetchall()}
    assert set(lake.SCHEMAS) <= schemas
    with pytest.raises(duckdb.Error):
        ro.execute("insert into lake.bronze.probe values (1, 'c')")
    ro.close()


def test_sqlite_catalog_in_wal_mode_under_home(home):
    settings = get_settings()
    assert settings.home == home
    _roundtrip(settings)
    assert settings.catalog_path.is_relative_to(home) and settings.lake_data_path.is_relative_to(home)
    assert sqlite3.connect(settings.catalog_path).execute("pragma journal_mode").fetchone()[0] == "wal"
    assert any(settings.lake_data_path.rglob("*.parquet")) or settings.catalog_path.stat().st_size > 0


def test_show_all_tables_lists_every_table_in_every_new_session(home, monkeypatch):
    """SHOW ALL TABLES, a department's first statement, right after connecting: DuckLake 1.0 may load the catalog
    from two threads at once and list none or part of it (duckdb/ducklake#1280); lake.connect loads it first."""
    monkeypatch.setenv("ONESOURCE_DUCKDB_THREADS", "4")
    con = lake.connect()
    for i in range(30):
        con.execute(f"create table lake.staging.t{i} as select range as a, 'x' || range as b from range(3)")
    con.close()
    listed = []
    for _ in range(12):
        ro = lake.connect(read_only=True)
        listed.append(len([r for r in ro.sql("show all tables").fetchall() if r[0] == "lake"]))
        ro.close()
    assert listed == [30] * 12


def test_two_homes_are_independent(tmp_path, monkeypatch):
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "one"))
    one = get_settings()
    con = lake.connect(one)
    con.execute("create table lake.bronze.only_here as select 1 as x")
    con.close()
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "two"))
    two = get_settings()
    con = lake.connect(two)
    assert con.execute("select count(*) from duckdb_tables() where table_name = 'only_here'").fetchone()[0] == 0
    con.close()


def test_extensions_come_from_the_wheels_into_the_project_dir(home):
    ext_dir = lake.install_extensions(get_settings())
    found = {p.name for p in ext_dir.rglob("*.duckdb_extension")}
    assert {"ducklake.duckdb_extension", "sqlite_scanner.duckdb_extension", "postgres_scanner.duckdb_extension"} <= found


@pytest.mark.postgres
def test_postgres_catalog(home, pg_database, monkeypatch):
    monkeypatch.setenv("ONESOURCE_CATALOG_DSN", pg_database)
    settings = get_settings()
    assert settings.catalog_dsn is not None
    _roundtrip(settings)
    assert not settings.catalog_path.exists()  # no SQLite catalog when PostgreSQL is configured
    import psycopg

    with psycopg.connect(pg_database) as pg:
        tables = {r[0] for r in pg.execute(
            "select table_name from information_schema.tables where table_schema = %s", (settings.catalog_schema,))}
    assert "ducklake_snapshot" in tables


def test_settings_are_read_when_needed_and_mask_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "x"))
    assert get_settings().home == tmp_path / "x"
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "y"))
    assert get_settings().home == tmp_path / "y"
    assert mask_dsn("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    monkeypatch.setenv("ONESOURCE_CATALOG_DSN", "postgresql://u:secret@h/db")
    assert "secret" not in repr(get_settings())


def test_data_path_can_live_apart_from_the_home(home, tmp_path, monkeypatch):
    """ONESOURCE_DATA_PATH moves the Parquet files (a shared disk here; an object store in production)."""
    elsewhere = tmp_path / "shared-disk" / "lake-data"
    monkeypatch.setenv("ONESOURCE_DATA_PATH", str(elsewhere))
    settings = get_settings()
    assert settings.data_path_url == f"{elsewhere}/" and settings.data_path_is_local
    con = lake.connect(settings)
    con.execute("create table lake.bronze.probe as select range as i from range(100000)")
    con.close()
    assert any(elsewhere.rglob("*.parquet"))
    assert not any(settings.lake_data_path.rglob("*.parquet"))
    assert Settings(data_path="s3://city-lake/onesource").data_path_url == "s3://city-lake/onesource/"
    assert not Settings(data_path="s3://city-lake/onesource").data_path_is_local


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """A fresh home on the default catalog (nothing chosen): its server is stopped after the test."""
    from core import catalog_server

    monkeypatch.delenv("ONESOURCE_CATALOG", raising=False)
    monkeypatch.delenv("ONESOURCE_CATALOG_DSN", raising=False)
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    try:
        yield get_settings()
    finally:
        catalog_server.stop_all_under(tmp_path)


def _postmaster_pid(settings: Settings) -> int:
    return int((settings.lake_dir / "catalog" / "postmaster.pid").read_text().split()[0])


def test_the_default_catalog_is_the_platforms_own_postgres_server(embedded):
    import glob
    import os
    import signal

    import psycopg

    from core import catalog_server
    from tests.support.waiting import wait_until

    settings = embedded
    assert settings.catalog_embedded and settings.encrypted
    assert not (settings.lake_dir / "catalog").exists()  # nothing is started by reading the settings
    _roundtrip(settings)
    assert not settings.catalog_path.exists()
    pid = _postmaster_pid(settings)
    con = lake.connect(settings)  # a second command while it is up: the same server
    con.close()
    assert _postmaster_pid(settings) == pid
    dsn = settings.catalog_dsn.get_secret_value()
    assert "password" not in dsn  # the superuser's password is in the keys folder's passfile, 0600
    assert (settings.keys_dir / "catalog.pgpass").stat().st_mode & 0o077 == 0
    with psycopg.connect(dsn) as pg:
        assert pg.execute("show listen_addresses").fetchone()[0] == ""  # no TCP unless asked
        assert pg.execute("show unix_socket_directories").fetchone()[0] == str(settings.lake_dir / "run")
        assert pg.execute("show log_destination").fetchone()[0] == "csvlog"
    without = dsn.split(" passfile=")[0]
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(without, connect_timeout=5).close()  # the socket asks for a password too
    files = glob.glob(str(settings.lake_data_path / "**" / "*.parquet"), recursive=True)
    assert files
    with pytest.raises(duckdb.Error, match="encrypt"):
        duckdb.connect().execute(f"select * from read_parquet('{files[0]}')").fetchall()
    # a crash (kill -9) leaves a stale pid file: the next command starts the server again and finds the lake whole
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: catalog_server.status(settings.lake_dir).pid is None, 30, 0.2, "the killed server gone")
    assert (settings.lake_dir / "catalog" / "postmaster.pid").exists()
    con = lake.connect(settings, read_only=True)
    assert con.execute("select count(*) from lake.bronze.probe").fetchone()[0] == 1001
    con.close()
    assert _postmaster_pid(settings) != pid
    assert lake.stop_catalog(settings) and not catalog_server.status(settings.lake_dir).running
    assert not lake.stop_catalog(settings)


def test_commands_started_at_once_share_one_server_and_stop_it(embedded):
    import os
    import subprocess

    from tests.support.commands import popen_cli, run_cli

    env = dict(os.environ)
    procs = [popen_cli("catalog", "start", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    pids = {o.split("pid ")[1].split(",")[0] for o, _ in outs}
    assert len(pids) == 1, outs
    status = run_cli("catalog", "status", env=env)
    assert status.returncode == 0 and f"running (pid {pids.pop()})" in status.stdout
    stopped = run_cli("catalog", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert run_cli("catalog", "status", env=env).returncode == 3
    sqlite = run_cli("catalog", "status", env={**env, "ONESOURCE_CATALOG": "sqlite"})
    assert sqlite.returncode == 2 and "SQLite" in sqlite.stderr and "Traceback" not in sqlite.stderr


def test_a_new_city_stops_the_server_and_removes_the_lake(embedded):
    settings = embedded
    con = lake.connect(settings)
    con.execute("create table lake.bronze.old_city as select 1 as x")
    con.close()
    lake.reset(settings)
    assert not settings.lake_dir.exists()
    con = lake.connect(settings)  # a new cluster, an empty lake
    assert not lake.table_exists(con, "bronze", "old_city")
    con.close()


def test_the_sqlite_catalog_is_an_explicit_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ONESOURCE_CATALOG_DSN", raising=False)
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    settings = get_settings()
    assert settings.catalog_dsn is None and not settings.catalog_embedded and not settings.encrypted
    monkeypatch.setenv("ONESOURCE_CATALOG_DSN", "postgresql://owner@db/lake")  # an external server wins
    assert not get_settings().catalog_embedded and get_settings().catalog_dsn is not None
