"""Delimited files: the resident registry's CP932 CSV (every field quoted, CRLF),
the NTA's headerless UTF-8 CSV and the front desk's UTF-8-with-BOM CSV."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from core.masking import mask_my_numbers
from ingestion.connectors import FileRead, RawRow, header_mapping, iter_lines, without_bom
from ingestion.contracts import Table


def _split(line: str, width: int) -> list[str]:
    # fast path: every field quoted and no quote inside (the registry's own form)
    if line.startswith('"') and line.endswith('"') and line.count('"') == 2 * width:
        return line[1:-1].split('","')
    return next(csv.reader([line], strict=True))


MAX_CONTINUATION_LINES = 20  # a quoted field may hold line breaks; a longer run is a truncated line


def _records(lines, codec: str, width: int):
    """(line, text, fields or None, error) per record: a quoted field that holds a line break continues on
    the next lines (one record, numbered by its first line); a line whose quote never closes within
    MAX_CONTINUATION_LINES lines is a truncated line of its own, and the lines after it are read again."""
    pending: list[tuple[int, bytes]] = []
    source = iter(lines)
    while True:
        if pending:
            line_no, raw = pending.pop(0)
        else:
            nxt = next(source, None)
            if nxt is None:
                return
            line_no, raw = nxt
        if not raw.strip():
            continue  # a blank line holds no record
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            yield line_no, raw.decode(codec, errors="replace"), None, "undecodable_bytes"
            continue
        if text.count('"') % 2:  # a quote left open: perhaps a line break inside a quoted field
            taken: list[tuple[int, bytes]] = []
            joined = text
            while len(taken) < MAX_CONTINUATION_LINES:
                nxt = pending.pop(0) if pending else next(source, None)
                if nxt is None:
                    break
                taken.append(nxt)
                try:
                    joined += "\n" + nxt[1].decode(codec)
                except UnicodeDecodeError:
                    break
                if joined.count('"') % 2 == 0:
                    break
            if joined.count('"') % 2 == 0:
                try:
                    fields = next(csv.reader([joined], strict=True))
                except csv.Error:
                    fields = None
                if fields is not None and len(fields) == width:
                    yield line_no, joined, fields, None
                    continue
            pending = taken + pending  # not one record after all: this line alone is truncated
            yield line_no, text, None, "unterminated quote"
            continue
        try:
            yield line_no, text, _split(text, width), None
        except csv.Error:
            yield line_no, text, None, "unterminated quote"


def read(path: Path, table: Table, rel: str) -> FileRead:
    encoding = str(table.options.get("encoding", "utf-8"))
    data = without_bom(path.read_bytes())
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    mask = mask_my_numbers if table.has_my_number else (lambda s: s)
    lines = iter_lines(data, rel)
    headerless = not table.options.get("header", True)
    if not headerless:
        first = next(lines, None)
        if first is None:
            return FileRead(rows=[])  # an empty file: no header, no records
        header = next(csv.reader([first[1].decode(codec, errors="replace").lstrip("\ufeff")]))
        names, unknown = header_mapping(table, header, rel)
    else:
        names, unknown = [c.name for c in table.columns], []
        header = list(names)
    width = len(names)
    records = list(_records(lines, codec, width))
    if headerless:  # a consistent extra trailing column is schema drift, not a quarantine of every row
        widths = Counter(len(f) for _n, _t, f, _e in records if f is not None)
        common, count = widths.most_common(1)[0] if widths else (width, 0)
        if common > width and count * 2 > len(records):
            extra_names = [f"column_{i + 1}" for i in range(width, common)]
            names, unknown, header = names + [None] * len(extra_names), extra_names, header + extra_names
    rows: list[RawRow] = []
    append = rows.append
    for line_no, text, fields, error in records:
        if error == "undecodable_bytes":
            append(RawRow(line_no, None, mask(text), ("undecodable_bytes", _bad_field(text, names), None)))
            continue
        if fields is None:
            append(RawRow(line_no, None, mask(text), ("truncated_line", None, error)))
            continue
        n = len(fields)
        if n != len(names) and not (unknown and headerless and n == width):
            reason = "truncated_line" if n < width else "wrong_field_count"
            append(RawRow(line_no, None, mask(text), (reason, None, f"{n} fields, expected {len(names)}")))
            continue
        if n > width or (unknown and not headerless):
            values, extra = {}, {}
            for name, h, v in zip(names, header, fields):
                if name is None:
                    extra[h] = v
                else:
                    values[name] = v
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
