"""The lake tables around bronze: quarantine, field issues, the load ledger,
deliveries, watermarks, schema drift and expectation results.

All are append-only: a delivery's rows are written in the transaction that
loads it, so the ledger never claims a load the lake does not hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

import duckdb

from core.lake import LAKE_ALIAS, insert_rows
from ingestion.connectors.database import Position, instant
from ingestion.contracts import Contract

L = LAKE_ALIAS
TABLES: dict[str, list[tuple[str, str]]] = {
    "quarantine.rows": [
        ("batch_id", "VARCHAR"), ("system", "VARCHAR"), ("table_name", "VARCHAR"), ("delivery_date", "DATE"),
        ("file", "VARCHAR"), ("file_sha256", "VARCHAR"), ("line", "BIGINT"), ("reason", "VARCHAR"),
        ("field", "VARCHAR"), ("detail", "VARCHAR"), ("raw_text", "VARCHAR"), ("loaded_at", "TIMESTAMPTZ")],
    "quarantine.field_issues": [
        ("batch_id", "VARCHAR"), ("system", "VARCHAR"), ("table_name", "VARCHAR"), ("delivery_date", "DATE"),
        ("file", "VARCHAR"), ("line", "BIGINT"), ("record_key", "VARCHAR"), ("field", "VARCHAR"),
        ("reason", "VARCHAR"), ("raw_value", "VARCHAR"), ("loaded_at", "TIMESTAMPTZ")],
    "ops.load_ledger": [
        ("batch_id", "VARCHAR"), ("system", "VARCHAR"), ("delivery_date", "DATE"), ("file", "VARCHAR"),
        ("table_name", "VARCHAR"), ("file_sha256", "VARCHAR"), ("status", "VARCHAR"), ("rows_read", "BIGINT"),
        ("rows_loaded", "BIGINT"), ("rows_quarantined", "BIGINT"), ("fields_flagged", "BIGINT"),
        ("unknown_columns", "VARCHAR"), ("loaded_at", "TIMESTAMPTZ"), ("file_size", "BIGINT"),
        ("file_mtime_ns", "BIGINT")],
    "ops.deliveries": [
        ("system", "VARCHAR"), ("delivery", "VARCHAR"), ("delivery_date", "DATE"), ("batch_id", "VARCHAR"),
        ("status", "VARCHAR"), ("error", "VARCHAR"), ("files", "BIGINT"), ("recorded_at", "TIMESTAMPTZ")],
    "ops.watermarks": [
        ("system", "VARCHAR"), ("table_name", "VARCHAR"), ("watermark", "VARCHAR"), ("keys_at_watermark", "VARCHAR"),
        ("batch_id", "VARCHAR"), ("recorded_at", "TIMESTAMPTZ")],
    "ops.schema_drift": [
        ("batch_id", "VARCHAR"), ("system", "VARCHAR"), ("table_name", "VARCHAR"), ("file", "VARCHAR"),
        ("column_name", "VARCHAR"), ("seen_at", "TIMESTAMPTZ")],
    "ops.expectation_results": [
        ("batch_id", "VARCHAR"), ("table_name", "VARCHAR"), ("suite", "VARCHAR"), ("expectation", "VARCHAR"),
        ("column_name", "VARCHAR"), ("kwargs", "VARCHAR"), ("success", "BOOLEAN"), ("unexpected_count", "BIGINT"),
        ("element_count", "BIGINT"), ("result", "VARCHAR"), ("validated_at", "TIMESTAMPTZ")],
}


def _create(con: duckdb.DuckDBPyConnection, qualified: str, columns: list[tuple[str, str]]) -> None:
    cols = ", ".join(f'"{n}" {t}' for n, t in columns)
    con.execute(f"CREATE TABLE IF NOT EXISTS {L}.{qualified} ({cols})")
    schema, table = qualified.split(".")
    have = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?",
        [L, schema, table]).fetchall()}
    for n, t in columns:
        if n not in have:  # a contract gained a column: bronze grows, old rows read null
            con.execute(f'ALTER TABLE {L}.{qualified} ADD COLUMN "{n}" {t}')


def ensure_tables(con: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    for qualified, columns in TABLES.items():
        _create(con, qualified, columns)
    for contract in contracts:
        for table in contract.tables:
            _create(con, f"bronze.{table.name}", table.bronze_columns())
            _ensure_view(con, table)


def current_view_sql(table) -> str | None:
    """The view holding each record's newest version (contract option ``latestBy``), or None."""
    order = table.options.get("latestBy")
    if not order:
        return None
    keys = ", ".join(f'"{k}"' for k in table.record_key)
    by = ", ".join(f'"{c}" desc nulls last' for c in order)
    sql = (f"select * exclude (_version) from (select *, row_number() over (partition by {keys} order by {by}, "
           f"_delivery_date desc, _file desc, _line desc) as _version from bronze.{table.name}) where _version = 1")
    # DuckDB stores views normalized; a literal carrying the definition's hash tells whether it changed
    digest = hashlib.sha256(sql.encode()).hexdigest()[:12]
    return f"{sql} and 'definition {digest}' is not null"


def _ensure_view(con: duckdb.DuckDBPyConnection, table) -> None:
    sql = current_view_sql(table)
    if sql is None:
        return
    name = f"{table.name}_current"
    have = con.execute("select sql from duckdb_views() where database_name = ? and schema_name = 'bronze' "
                       "and view_name = ?", [L, name]).fetchone()
    if have is None or sql.rsplit("'definition ", 1)[1][:12] not in have[0]:
        con.execute(f"CREATE OR REPLACE VIEW {L}.bronze.{name} AS {sql}")


def insert(con: duckdb.DuckDBPyConnection, qualified: str, rows: list[tuple]) -> None:
    if not rows:
        return
    insert_rows(con, f"{L}.{qualified}", [n for n, _ in TABLES[qualified]], rows)


def finished_deliveries(con: duckdb.DuckDBPyConnection, system: str) -> set[str]:
    rows = con.execute(f"select delivery from {L}.ops.deliveries where system = ? and status in ('loaded', 'resend')",
                       [system]).fetchall()
    return {r[0] for r in rows}


def loaded_files(con: duckdb.DuckDBPyConnection, system: str) -> set[tuple[str, str]]:
    """(file name, sha256) of every file already loaded for a system: a byte-identical re-send matches."""
    rows = con.execute(f"select file, file_sha256 from {L}.ops.load_ledger where system = ? and status = 'loaded'",
                       [system]).fetchall()
    return {(f.rsplit("/", 1)[-1], sha) for f, sha in rows}


def read_positions(con: duckdb.DuckDBPyConnection, contract: Contract) -> dict[str, Position]:
    """Where the read of each table of a database system stands: the newest watermark (compared as an instant,
    whichever form an older run stored it in), the keys read at it, and the rows quarantined for an unreadable
    change time whose keys no load has brought into bronze since."""
    out: dict[str, Position] = {}
    for t, w, k in con.execute(f"select table_name, watermark, keys_at_watermark from {L}.ops.watermarks "
                               "where system = ?", [contract.system]).fetchall():
        at, keys = instant(w), set(json.loads(k))
        have = out.get(t)
        if at is not None and (have is None or at > have.watermark or (at == have.watermark and keys > have.keys_at)):
            out[t] = Position(at, keys)
    for table in contract.tables:
        quarantined = con.execute(f"select raw_text from {L}.quarantine.rows where system = ? and table_name = ? "
                                  "and reason = 'invalid_watermark'", [contract.system, table.name]).fetchall()
        if not quarantined:
            continue
        pos = out.setdefault(table.name, Position())
        pos.quarantined = {r[0] for r in quarantined}
        key = table.key_columns[0]
        keys = {str(json.loads(r)[key.physical_name]) for r in pos.quarantined}
        loaded = {str(r[0]) for r in con.execute(
            f'select distinct "{key.bronze_name}" from {L}.bronze.{table.name} where "{key.bronze_name}"::varchar '
            "in (select unnest(?))", [sorted(keys)]).fetchall()}
        pos.pending = keys - loaded
    return out


def record_failure(con: duckdb.DuckDBPyConnection, res) -> None:
    insert(con, "ops.deliveries", [(res.system, res.delivery, None, f"{res.system}/{res.delivery}", "failed",
                                    res.error, 0, dt.datetime.now(dt.UTC))])


def loaded_deliveries(con: duckdb.DuckDBPyConnection, system: str) -> dict[str, dict[str, tuple]]:
    """Per finished delivery day, its files as the ledger recorded them: name -> (sha256, size, mtime_ns)."""
    rows = con.execute(
        f"select l.batch_id, l.file, l.file_sha256, l.file_size, l.file_mtime_ns from {L}.ops.load_ledger l "
        f"join {L}.ops.deliveries d on d.batch_id = l.batch_id and d.status in ('loaded', 'resend') "
        "where l.system = ?", [system]).fetchall()
    out: dict[str, dict[str, tuple]] = {}
    for batch_id, file, sha, size, mtime in rows:
        out.setdefault(batch_id.split("/", 1)[1], {})[file.rsplit("/", 1)[-1]] = (sha, size, mtime)
    return out


BATCH_TABLES = ("quarantine.rows", "quarantine.field_issues", "ops.load_ledger", "ops.schema_drift",
                "ops.expectation_results", "ops.deliveries")


def forget_delivery(con: duckdb.DuckDBPyConnection, contract: Contract, day: str) -> int:
    """Remove one delivery's rows from bronze and every table around it, in one transaction, so that the next
    load reads it again as delivered now (DuckLake keeps the removed rows in the snapshots before). Returns
    the number of bronze rows removed."""
    batch_id = f"{contract.system}/{day}"
    con.execute("BEGIN TRANSACTION")
    try:
        removed = 0
        for table in contract.tables:
            removed += con.execute(f"DELETE FROM {L}.bronze.{table.name} WHERE _batch_id = ?", [batch_id]).fetchone()[0]
        for qualified in BATCH_TABLES:
            con.execute(f"DELETE FROM {L}.{qualified} WHERE batch_id = ?", [batch_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return removed
