"""The hand-kept nursery workbook: title row, header row, blank rows, typed and free-text cells."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import load_workbook

from ingestion.connectors import DeliveryError, FileRead, RawRow, header_mapping
from ingestion.contracts import Table


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def read(path: Path, table: Table, rel: str) -> FileRead:
    sheet_name = str(table.options.get("sheet"))
    header_row = int(table.options.get("headerRow", 1))
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise DeliveryError(rel, f"not a readable xlsx workbook ({exc.__class__.__name__})") from None
    try:
        if sheet_name not in wb.sheetnames:
            raise DeliveryError(rel, f"sheet {sheet_name!r} missing (sheets: {', '.join(wb.sheetnames)})")
        ws = wb[sheet_name]
        it = ws.iter_rows(min_row=header_row, values_only=True)
        header = list(next(it, ()) or ())
        while header and header[-1] is None:
            header.pop()
        names, unknown = header_mapping(table, header, rel)
        rows = []
        for excel_row, cells in enumerate(it, start=header_row + 1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
                continue  # blank rows between blocks are layout, not records
            values, extra = {}, {}
            for i, v in enumerate(cells):
                n = names[i] if i < len(names) else None
                if n is not None:
                    values[n] = v
                elif v is not None:
                    extra[str(header[i]) if i < len(header) and header[i] is not None else f"column_{i + 1}"] = (
                        _cell_text(v))
            raw = "\t".join(_cell_text(v) for v in cells)
            rows.append(RawRow(excel_row, values, raw, None, extra or None))
        return FileRead(rows=rows, unknown_columns=unknown)
    finally:
        wb.close()
