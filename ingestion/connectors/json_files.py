"""JSON Lines (kokuho, keys added without notice) and one-document-per-file JSON (hojokin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.masking import mask_my_numbers
from ingestion.connectors import FileRead, RawRow, Unreadable, iter_lines, without_bom
from ingestion.contracts import Table

_MISSING = object()
_DIGITS = 20  # a JSON integer longer than a BIGINT's 19 digits is kept as its digits, not converted


def _integer(text: str) -> int | str:
    """A JSON integer: an int, or its digits as text when it is longer than any BIGINT. Python refuses to
    convert more than 4,300 digits (a ValueError that failed the whole delivery); as text, an unknown key
    keeps it as delivered and a contract column flags it (``out_of_range``)."""
    return int(text) if len(text) <= _DIGITS else text


def _get(obj: dict, path: list[str]) -> Any:
    """The value at ``path``; None where it is absent; :class:`Unreadable` where a node on the way is there but
    is not an object (its fields cannot be read from it)."""
    cur: Any = obj
    for part in path:
        if cur is None:
            return None
        if not isinstance(cur, dict):
            return Unreadable(cur)
        cur = cur.get(part, _MISSING)
        if cur is _MISSING:
            return None
    return cur


def _has_lone_surrogate(obj: Any) -> bool:
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _leaves(obj: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in obj.items():
        p = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.extend(_leaves(v, p + "."))
        else:
            out.append(p)
    return out


class _Shape:
    def __init__(self, table: Table) -> None:
        self.paths = [(c.name, c.physical_name.split(".")) for c in table.columns]
        self.known = {c.physical_name for c in table.columns}
        self.prefixes = {c.physical_name.rsplit(".", 1)[0] for c in table.columns if "." in c.physical_name}
        self.mask = mask_my_numbers if table.has_my_number else (lambda s: s)
        self.unknown: dict[str, None] = {}

    def row(self, line_no: int, text: str) -> RawRow:
        try:
            obj = json.loads(text, parse_int=_integer)
        except RecursionError:
            return RawRow(line_no, None, self.mask(text)[:2000], ("invalid_json", None, "nested too deeply to read"))
        except json.JSONDecodeError as exc:
            body = text.strip()
            # an object that opens but never closes was cut off; anything else is malformed JSON
            truncated = body.startswith("{") and not body.endswith("}")
            reason = "truncated_line" if truncated else "invalid_json"
            return RawRow(line_no, None, self.mask(text), (reason, None, f"{exc.msg} at character {exc.pos}"))
        if not isinstance(obj, dict):
            return RawRow(line_no, None, self.mask(text), ("invalid_json", None, "not a JSON object"))
        if "\\u" in text and _has_lone_surrogate(obj):
            return RawRow(line_no, None, self.mask(text), ("invalid_json", None,
                                                          "a lone surrogate escape (\\ud800-\\udfff) is not a character"))
        values = {name: _get(obj, path) for name, path in self.paths}
        extra = None
        for prefix in self.prefixes:  # an object of fields delivered as something else: kept as delivered
            node = _get(obj, prefix.split("."))
            if node is not None and not isinstance(node, (dict, Unreadable)):  # Unreadable: an ancestor is kept
                extra = extra or {}
                extra[prefix] = node
        try:
            leaves = _leaves(obj)
        except RecursionError:
            return RawRow(line_no, None, self.mask(text)[:2000], ("invalid_json", None, "nested too deeply to read"))
        for leaf in leaves:
            if leaf not in self.known and leaf not in self.prefixes:
                extra = extra or {}
                extra[leaf] = _get(obj, leaf.split("."))
                self.unknown[leaf] = None
        return RawRow(line_no, values, text, None, extra)


def read_lines(path: Path, table: Table, rel: str) -> FileRead:
    shape = _Shape(table)
    rows = []
    for line_no, raw in iter_lines(without_bom(path.read_bytes()), rel):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            rows.append(RawRow(line_no, None, shape.mask(raw.decode("utf-8", errors="replace")),
                               ("undecodable_bytes", None, "not UTF-8")))
            continue
        rows.append(shape.row(line_no, text))
    return FileRead(rows=rows, unknown_columns=list(shape.unknown))


def read_document(path: Path, table: Table, rel: str) -> FileRead:
    shape = _Shape(table)
    raw = without_bom(path.read_bytes())
    if not raw.strip():
        return FileRead(rows=[])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return FileRead(rows=[RawRow(1, None, shape.mask(raw.decode("utf-8", errors="replace")),
                                     ("undecodable_bytes", None, "not UTF-8"))])
    return FileRead(rows=[shape.row(1, text)], unknown_columns=list(shape.unknown))
