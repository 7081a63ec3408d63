"""Delimited files: the resident registry's CP932 CSV (every field quoted, CRLF),
the NTA's headerless UTF-8 CSV and the front desk's UTF-8-with-BOM CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from ingestion.connectors import FileRead, RawRow, header_mapping, iter_lines
from ingestion.contracts import Table
from onesource.core.masking import mask_my_numbers


def _split(line: str, width: int) -> list[str]:
    # fast path: every field quoted and no quote inside (the registry's own form)
    if line.startswith('"') and line.endswith('"') and line.count('"') == 2 * width:
        return line[1:-1].split('","')
    return next(csv.reader([line], strict=True))


def read(path: Path, table: Table, rel: str) -> FileRead:
    encoding = str(table.options.get("encoding", "utf-8"))
    data = path.read_bytes()
    if encoding == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    mask = mask_my_numbers if table.has_my_number else (lambda s: s)
    lines = iter_lines(data, rel)
    if table.options.get("header", True):
        first = next(lines, None)
        if first is None:
            return FileRead(rows=[])  # an empty file: no header, no records
        header = next(csv.reader([first[1].decode(codec, errors="replace").lstrip("\ufeff")]))
        names, unknown = header_mapping(table, header, rel)
    else:
        names, unknown = [c.name for c in table.columns], []
    width = len(names)
    rows: list[RawRow] = []
    append = rows.append
    for line_no, raw in lines:
        if not raw.strip():
            continue  # a blank line holds no record
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            text = raw.decode(codec, errors="replace")
            append(RawRow(line_no, None, mask(text), ("undecodable_bytes", _bad_field(text, names), None)))
            continue
        try:
            fields = _split(text, width)
        except csv.Error:
            append(RawRow(line_no, None, mask(text), ("truncated_line", None, "unterminated quote")))
            continue
        if len(fields) != width:
            reason = "truncated_line" if len(fields) < width else "wrong_field_count"
            append(RawRow(line_no, None, mask(text), (reason, None, f"{len(fields)} fields, expected {width}")))
            continue
        if unknown:
            values, extra = {}, {}
            for n, h, v in zip(names, header, fields):
                if n is None:
                    extra[h] = v
                else:
                    values[n] = v
            append(RawRow(line_no, values, text, None, extra))
        else:
            append(RawRow(line_no, dict(zip(names, fields)), text))
    return FileRead(rows=rows, unknown_columns=unknown)


def _bad_field(text: str, names: list[str | None]) -> str | None:
    try:
        fields = next(csv.reader([text]))
    except csv.Error:
        return None
    for n, v in zip(names, fields):
        if "\ufffd" in v:
            return n
    return None
