"""The contract database's read position: a watermark per table (an instant), and the keys already read
at it.

Rows changed at the watermark itself are read again on the next run (a change may land in the same
second as the last one read); those already loaded are dropped here, so nothing is loaded twice. Change
times are compared as instants, never as text: ``2026-11-04 15:00:00``, ``2026-11-04T06:00:00Z`` and
``2026-11-04T15:00:00+09:00`` are the same moment.
"""

from __future__ import annotations

import datetime as dt

from ingestion.connectors import FileRead
from ingestion.connectors.database import Position
from ingestion.contracts import Contract
from ingestion.fields import JST


def stored(at: dt.datetime) -> str:
    """A watermark as the ledger keeps it: ISO 8601 in Japan time, which sorts as it orders."""
    return at.astimezone(JST).isoformat()


def advance(contract: Contract, reads: dict[str, FileRead],
            positions: dict[str, Position]) -> dict[str, tuple[str, list[str]]]:
    """Drop the rows already read at each table's watermark from ``reads`` (in place); return the new
    watermark and the keys at it for every table that has new rows with a readable change time (rows to be
    quarantined for an unreadable one stay in ``reads`` but place no watermark)."""
    new_marks: dict[str, tuple[str, list[str]]] = {}
    for table in contract.tables:
        read = reads[table.name]
        pos = positions.get(table.name) or Position()
        key = table.key_columns[0].name
        wm_col = str(table.options.get("watermark", "updated_at"))
        read.rows = [r for r in read.rows if r.values is None
                     or not (r.values[wm_col] == pos.watermark and str(r.values.get(key)) in pos.keys_at)]
        if not read.rows:
            continue
        times = [r.values[wm_col] for r in read.rows if r.values is not None]
        wm = max(times, default=None)
        if pos.watermark is not None and (wm is None or wm < pos.watermark):
            wm = pos.watermark  # only quarantined or fixed rows: the position stays where it was
        if wm is None:
            continue  # only rows to be quarantined: nothing to place a watermark on
        keys_at = {str(r.values.get(key)) for r in read.rows if r.values is not None and r.values[wm_col] == wm}
        if wm == pos.watermark:
            keys_at |= pos.keys_at
        new_marks[table.name] = (stored(wm), sorted(keys_at))
    return new_marks
