"""The rows of one table within one delivery: parsed, keyed, quarantined or flagged, column by column."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa

from core.masking import MASKED, mask_my_numbers
from ingestion.connectors import FileRead, Unreadable
from ingestion.contracts import Table
from ingestion.fields import parser_for
from ingestion.reports import FileResult
from ingestion.tokens import Tokenizer

ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
          "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}


def _guarded(parse):
    """A field parser that answers every value: one it cannot read (a time of day in a date column, a list
    where a text was expected) is flagged as invalid, never an exception that would fail the delivery."""
    def run(v):
        if isinstance(v, Unreadable):
            return None, "invalid_value"
        try:
            return parse(v)
        except Exception:  # noqa: BLE001 - any value the parser did not foresee is a flagged field
            return None, "invalid_value"
    return run


class Batch:
    """The rows of one table within one delivery, column by column."""

    def __init__(self, table: Table, tokenizer: Tokenizer) -> None:
        self.table = table
        self.parsers = {c.name: _guarded(parser_for(c, tokenizer)) for c in table.columns}
        self.key_cols = table.key_columns
        key_names = set(table.record_key)
        self.other = [(c.name, c.bronze_name, c.parse == "my_number", self.parsers[c.name])
                      for c in table.columns if c.name not in key_names]
        self.cols: dict[str, list] = {name: [] for name, _ in table.bronze_columns()}
        self.quarantine: list[tuple] = []
        self.issues: list[tuple] = []
        self.mask = mask_my_numbers if table.has_my_number else (lambda s: s)

    def add_file(self, rel: str, sha: str, read: FileRead, meta: tuple) -> FileResult:
        system, delivery_date, batch_id, loaded_at = meta
        res = FileResult(file=rel, table=self.table.name, sha256=sha, status="loaded",
                         unknown_columns=list(read.unknown_columns))
        cols, mask = self.cols, self.mask
        qrow = self.quarantine.append
        irow = self.issues.append
        other_cols = [(cols[b], name, is_mn, p) for name, b, is_mn, p in self.other]
        key_cols = [(c, cols[c.bronze_name], self.parsers[c.name]) for c in self.key_cols]
        overflow, m_line = cols["_overflow"], cols["_line"]
        n_loaded = 0
        for r in read.rows:
            res.rows_read += 1
            if r.error is not None:
                qrow((batch_id, system, self.table.name, delivery_date, rel, sha, r.line, *r.error, r.raw, loaded_at))
                continue
            v = r.values
            keys = []
            bad = None
            for c, _lst, p in key_cols:
                val, reason = p(v.get(c.name))
                if reason is None and val is None:
                    reason = "missing_key"
                if reason is not None:
                    bad = (reason, c.name)
                    break
                keys.append(val)
            if bad is not None:
                qrow((batch_id, system, self.table.name, delivery_date, rel, sha, r.line, bad[0], bad[1], None,
                      mask(r.raw), loaded_at))
                continue
            record_key = ":".join(str(k) for k in keys)
            for (_c, lst, _p), val in zip(key_cols, keys):
                lst.append(val)
            for lst, name, is_mn, p in other_cols:
                raw = v.get(name)
                val, reason = p(raw)
                if reason is not None:
                    shown = MASKED if is_mn else mask(str(raw))[:500]
                    irow((batch_id, system, self.table.name, delivery_date, rel, r.line, record_key, name, reason,
                          shown, loaded_at))
                    res.fields_flagged += 1
                lst.append(val)
            overflow.append(json.dumps(r.extra, ensure_ascii=False, default=str) if r.extra else None)
            m_line.append(r.line)
            n_loaded += 1
        for name, value in (("_system", system), ("_delivery_date", delivery_date), ("_file", rel),
                            ("_file_sha256", sha), ("_batch_id", batch_id), ("_loaded_at", loaded_at)):
            cols[name].extend([value] * n_loaded)
        res.rows_loaded = n_loaded
        res.rows_quarantined = res.rows_read - n_loaded
        if res.rows_read != res.rows_loaded + res.rows_quarantined:  # pragma: no cover - by construction
            raise RuntimeError(f"{rel}: rows read != loaded + quarantined")
        return res

    @property
    def n_rows(self) -> int:
        return len(self.cols["_line"])

    def arrow(self) -> pa.Table:
        types = dict(self.table.bronze_columns())
        return pa.table({name: pa.array(values, type=ARROW_TYPES[types[name]]) for name, values in self.cols.items()})


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
