"""The lake: DuckLake on a SQLite catalog (WAL) by default, on PostgreSQL when configured."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest

from onesource.core import lake
from onesource.core.settings import Settings, get_settings, mask_dsn


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


def test_two_homes_are_independent(tmp_path, monkeypatch):
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
