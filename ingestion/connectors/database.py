"""The contract database (入札・契約管理システム): read incrementally by ``updated_at``
watermark, in one read-only snapshot, from PostgreSQL or the SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ingestion.connectors import DeliveryError, FileRead, RawRow
from ingestion.contracts import Contract, Table
from onesource.core.settings import mask_dsn


@dataclass
class Source:
    label: str  # "keiyaku.sqlite" or the masked DSN
    sqlite_path: Path | None = None
    dsn: str | None = None


def source_for(contract: Contract, landing: Path, dsn: str | None) -> Source | None:
    if dsn:
        return Source(label="postgresql", dsn=dsn)
    path = landing / contract.system / f"{contract.system}.sqlite"
    return Source(label=path.name, sqlite_path=path) if path.exists() else None


def _jsonable(v: object) -> object:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def read_tables(contract: Contract, source: Source, watermarks: dict[str, str | None]) -> dict[str, FileRead]:
    """Rows changed at or after each table's watermark, all tables from one snapshot."""
    if source.dsn:
        import psycopg

        try:
            con = psycopg.connect(source.dsn, autocommit=False)
        except psycopg.Error as exc:
            raise DeliveryError(mask_dsn(source.dsn), f"cannot connect: {exc.__class__.__name__}") from None
        con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        mark = "%s"

        def columns(name: str) -> list[str]:
            rows = con.execute("select column_name from information_schema.columns where table_name = %s "
                               "and table_schema = current_schema() order by ordinal_position", (name,)).fetchall()
            return [r[0] for r in rows]
    else:
        con = sqlite3.connect(f"file:{source.sqlite_path}?mode=ro", uri=True)
        con.execute("BEGIN")
        mark = "?"

        def columns(name: str) -> list[str]:
            return [r[1] for r in con.execute(f'pragma table_info("{name}")').fetchall()]

    out: dict[str, FileRead] = {}
    try:
        for table in contract.tables:
            out[table.name] = _read_table(con, table, columns(table.physical_name), mark,
                                          watermarks.get(table.name), source.label)
    finally:
        con.close()
    return out


def _read_table(con, table: Table, present: list[str], mark: str, watermark: str | None, label: str) -> FileRead:
    rel = f"{label}#{table.physical_name}"
    if not present:
        raise DeliveryError(rel, "table missing from the database")
    missing = [c.physical_name for c in table.columns if c.physical_name not in present]
    if missing:
        raise DeliveryError(rel, f"required column missing: {', '.join(missing)}")
    known = {c.physical_name: c.name for c in table.columns}
    unknown = [p for p in present if p not in known]
    wm_col = table.options.get("watermark", "updated_at")
    key = table.key_columns[0].physical_name
    cols = ", ".join(f'"{p}"' for p in present)
    sql = f'select {cols} from "{table.physical_name}"'
    params: tuple = ()
    if watermark is not None:
        sql += f' where "{wm_col}" >= {mark}'
        params = (watermark,)
    sql += f' order by "{wm_col}", "{key}"'
    rows = []
    for rec in con.execute(sql, params).fetchall():
        d = dict(zip(present, rec))
        values = {known[p]: v for p, v in d.items() if p in known}
        extra = {p: _jsonable(d[p]) for p in unknown} or None
        raw = json.dumps({k: _jsonable(v) for k, v in d.items()}, ensure_ascii=False)
        rows.append(RawRow(int(d[key]), values, raw, None, extra))
    return FileRead(rows=rows, unknown_columns=unknown)
