"""Connectors: one reader per extract format, driven by the contract's table.

A reader turns one delivered file into :class:`RawRow` objects, one per
record, in file order, each with its line (or record, or Excel row) number.
A record that cannot be read carries an ``error`` and goes to quarantine; a
header that lacks a contract column raises :class:`DeliveryError`, which
fails the whole delivery of that system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.contracts import Table


class Unreadable:
    """A field's value where the document's shape is wrong (a list or a text where an object of fields was
    expected): the field is flagged with the raw value, never silently null."""

    __slots__ = ("raw",)

    def __init__(self, raw) -> None:
        self.raw = raw

    def __str__(self) -> str:
        import json

        return json.dumps(self.raw, ensure_ascii=False, default=str)


class DeliveryError(RuntimeError):
    """A file the pipeline must not load: the delivery fails, naming file and reason."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file


@dataclass(slots=True)
class RawRow:
    line: int
    values: dict[str, Any] | None
    raw: str
    error: tuple[str, str | None, str | None] | None = None  # (reason, field at fault, detail)
    extra: dict[str, Any] | None = None  # keys/columns the contract does not know


@dataclass
class FileRead:
    rows: list[RawRow]
    unknown_columns: list[str] = field(default_factory=list)


Reader = Callable[[Path, Table, str], FileRead]


def reader_for(connector: str) -> Reader:
    from ingestion.connectors import csv_files, fixed_width, json_files, xlsx

    readers: dict[str, Reader] = {
        "csv": csv_files.read,
        "fixed_width": fixed_width.read,
        "jsonl": json_files.read_lines,
        "json_document": json_files.read_document,
        "xlsx": xlsx.read,
    }
    try:
        return readers[connector]
    except KeyError:
        raise ValueError(f"no file reader for connector {connector!r}") from None


def header_mapping(table: Table, header: list[str], rel: str) -> tuple[list[str | None], list[str]]:
    """Column name per header position (None = unknown), and the unknown header names.

    A contract column missing from the header fails the delivery.
    """
    by_physical = {c.physical_name: c.name for c in table.columns}
    cleaned = [h.strip().lstrip("\ufeff") if isinstance(h, str) else ("" if h is None else str(h)) for h in header]
    missing = [c.physical_name for c in table.columns if c.physical_name not in cleaned]
    if missing:
        raise DeliveryError(rel, f"required column missing from the header: {', '.join(missing)}")
    names = [by_physical.get(h) for h in cleaned]
    unknown = [h for h, n in zip(cleaned, names) if n is None]
    return names, unknown


BOM = b"\xef\xbb\xbf"


def without_bom(data: bytes) -> bytes:
    """A file's bytes without a leading UTF-8 byte-order mark, whatever encoding the contract declares: editors
    and exports put one in front of CP932 and JSON Lines files too, where it spoiled the first record (JSON)
    or the header (a CP932 CSV failed its delivery). Every reader of bytes takes its data through here."""
    return data[len(BOM):] if data.startswith(BOM) else data


def iter_lines(data: bytes, rel: str = "") -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without the line end) for LF or CRLF files; a final empty line is not a record.
    A file whose lines end in CR alone (old Mac line endings, which the spec allows nowhere) cannot be split
    into records: it fails with that reason rather than loading as one long line."""
    lone_cr = data.count(b"\r") - data.count(b"\r\n")
    if lone_cr and lone_cr >= data.count(b"\n"):
        raise DeliveryError(rel or "file", f"line 1: lines end in CR alone ({lone_cr} of them), which the spec does "
                            "not allow (LF or CRLF): convert the line endings and deliver again")
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    for i, part in enumerate(parts, start=1):
        yield i, part[:-1] if part.endswith(b"\r") else part
