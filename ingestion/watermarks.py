"""The contract database's read position: a watermark per table, and the keys already read at it.

Rows changed at the watermark itself are read again on the next run (a change may land in the same
second as the last one read); those already loaded are dropped here, so nothing is loaded twice.
"""

from __future__ import annotations

from ingestion.connectors import FileRead
from ingestion.contracts import Contract


def advance(contract: Contract, reads: dict[str, FileRead],
            marks: dict[str, tuple[str, set[str]]]) -> dict[str, tuple[str, list[str]]]:
    """Drop the rows already read at each table's watermark from ``reads`` (in place); return the new
    watermark and the keys at it for every table that has new rows."""
    new_marks: dict[str, tuple[str, list[str]]] = {}
    for table in contract.tables:
        read = reads[table.name]
        mark, at_mark = marks.get(table.name, (None, set()))
        key = table.key_columns[0].name
        wm_col = str(table.options.get("watermark", "updated_at"))
        read.rows = [r for r in read.rows
                     if not (str(r.values.get(wm_col)) == mark and str(r.values.get(key)) in at_mark)]
        if not read.rows:
            continue
        wm = max(str(r.values.get(wm_col)) for r in read.rows)
        keys_at = sorted({str(r.values.get(key)) for r in read.rows if str(r.values.get(wm_col)) == wm})
        if wm == mark:
            keys_at = sorted(set(keys_at) | at_mark)
        new_marks[table.name] = (wm, keys_at)
    return new_marks
