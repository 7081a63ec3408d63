"""The contract database (入札・契約管理システム): read incrementally by ``updated_at``
watermark, in one read-only snapshot, from PostgreSQL or the SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from core.clock import TIMEZONE
from core.settings import mask_dsn
from ingestion.connectors import DeliveryError, FileRead, RawRow
from ingestion.contracts import Contract, Table
from ingestion.fields import parse_timestamptz


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


@dataclass
class Position:
    """Where the read of one table stands: the watermark (an instant), the keys already read at it, and the
    keys whose rows were quarantined for an unreadable ``updated_at`` and never loaded since (a fixed row is
    read again whatever time it now carries); ``quarantined`` holds those rows as quarantined, so that a row
    still unreadable is not quarantined a second time."""

    watermark: dt.datetime | None = None
    keys_at: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    quarantined: set[str] = field(default_factory=set)


def instant(v: object) -> dt.datetime | None:
    """A change time as an instant: ISO 8601 with ``T`` or a space, with an offset, ``Z`` or none (then the
    source's time zone, Asia/Tokyo); a timestamp the driver returned; None when it cannot be read."""
    value, reason = parse_timestamptz(v)
    return value if reason is None else None


def read_tables(contract: Contract, source: Source, positions: dict[str, Position]) -> dict[str, FileRead]:
    """Rows changed at or after each table's watermark (compared as instants, whatever the format the
    column holds), rows whose change time cannot be read (quarantined with their reason, once), and rows
    quarantined before and fixed since; all tables from one snapshot."""
    if source.dsn:
        import psycopg

        try:
            con = psycopg.connect(source.dsn, autocommit=False)
        except psycopg.Error as exc:
            raise DeliveryError(mask_dsn(source.dsn), f"cannot connect: {exc.__class__.__name__}") from None
        con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        con.execute(f"SET TIME ZONE '{TIMEZONE}'")  # a timestamp without time zone is the source's local time

        def columns(name: str) -> dict[str, str]:
            rows = con.execute("select column_name, data_type from information_schema.columns where table_name = %s "
                               "and table_schema = current_schema() order by ordinal_position", (name,)).fetchall()
            return {r[0]: r[1] for r in rows}
    else:
        con = sqlite3.connect(f"file:{source.sqlite_path}?mode=ro", uri=True)
        con.execute("BEGIN")

        def columns(name: str) -> dict[str, str]:
            return {r[1]: str(r[2]).lower() for r in con.execute(f'pragma table_info("{name}")').fetchall()}

    out: dict[str, FileRead] = {}
    try:
        for table in contract.tables:
            out[table.name] = _read_table(con, table, columns(table.physical_name), bool(source.dsn),
                                          positions.get(table.name) or Position(), source.label)
    finally:
        con.close()
    return out


def _changed_since(wm_col: str, key: str, types: dict[str, str], postgres: bool, pos: Position) -> tuple[str, list]:
    """A WHERE clause that reads no fewer rows than changed since the watermark: a coarse filter (a day's
    margin in SQLite, whose julianday() takes a value without offset as UTC), made exact in Python."""
    if pos.watermark is None:
        return "", []
    pending = sorted(pos.pending)
    if postgres:
        if "timestamp" not in types[wm_col]:
            return "", []  # a text column in PostgreSQL: every row is read and compared as an instant
        return (f' where "{wm_col}" >= %s or "{wm_col}" is null or "{key}"::text = any(%s)',
                [pos.watermark, pending])
    marks = ", ".join("?" for _ in pending) or "null"
    return (f' where julianday("{wm_col}") is null or julianday("{wm_col}") >= julianday(?) - 1 '
            f'or cast("{key}" as text) in ({marks})', [pos.watermark.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                                                       *pending])


def _read_table(con, table: Table, types: dict[str, str], postgres: bool, pos: Position, label: str) -> FileRead:
    rel = f"{label}#{table.physical_name}"
    present = list(types)
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
    where, params = _changed_since(wm_col, key, types, postgres, pos)
    rows = []
    for rec in con.execute(f'select {cols} from "{table.physical_name}"{where} order by "{key}"', params).fetchall():
        d = dict(zip(present, rec))
        raw = json.dumps({k: _jsonable(v) for k, v in d.items()}, ensure_ascii=False)
        at = instant(d[wm_col])
        if at is None:  # a change time nobody can place: the row is quarantined (once), the read goes on
            if raw not in pos.quarantined:
                shown = "null" if d[wm_col] is None else "not a date and time"
                rows.append(RawRow(int(d[key]), None, raw, ("invalid_watermark", wm_col,
                                                          f"{wm_col} is {shown}: the change cannot be ordered")))
            continue
        if pos.watermark is not None and at < pos.watermark and str(d[key]) not in pos.pending:
            continue
        values = {known[p]: v for p, v in d.items() if p in known}
        values[known[wm_col]] = at
        extra = {p: _jsonable(d[p]) for p in unknown} or None
        rows.append(RawRow(int(d[key]), values, raw, None, extra))
    rows.sort(key=lambda r: (r.values is None, r.values and r.values[known[wm_col]], r.line))
    return FileRead(rows=rows, unknown_columns=unknown)
