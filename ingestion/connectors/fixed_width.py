"""The tax ledger's fixed-width records: exactly N bytes of CP932 plus CRLF, sliced by bytes."""

from __future__ import annotations

from pathlib import Path

from ingestion.connectors import FileRead, RawRow, iter_lines, without_bom
from ingestion.contracts import Table


def read(path: Path, table: Table, rel: str) -> FileRead:
    codec = str(table.options.get("encoding", "cp932"))
    length = int(table.options["recordLength"])
    slices = [(c.name, c.byte_range[0] - 1, c.byte_range[1]) for c in table.columns if c.byte_range]
    rows: list[RawRow] = []
    for rec_no, rec in iter_lines(without_bom(path.read_bytes()), rel):
        if not rec.strip():
            continue
        if len(rec) != length:
            reason = "truncated_record" if len(rec) < length else "wrong_width"
            rows.append(RawRow(rec_no, None, rec.decode(codec, errors="replace"),
                               (reason, None, f"{len(rec)} bytes, expected {length}")))
            continue
        values = {}
        bad = None
        for name, start, end in slices:
            try:
                values[name] = rec[start:end].decode(codec)
            except UnicodeDecodeError:
                bad, bad_range = name, f"{start + 1}-{end}"
                break
        if bad is not None:
            rows.append(RawRow(rec_no, None, rec.decode(codec, errors="replace"),
                               ("undecodable_bytes", bad, f"bytes {bad_range} do not decode as {codec}")))
            continue
        rows.append(RawRow(rec_no, values, rec.decode(codec, errors="replace")))
    return FileRead(rows=rows)
