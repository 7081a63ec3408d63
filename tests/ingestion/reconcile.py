"""Compare what the lake holds with a landing zone's manifest of deliberate faults."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb


def _unclosed(manifest: dict) -> tuple[str, ...]:
    return tuple(u.rstrip("/") + "/" for u in manifest.get("unclosed", []) + manifest.get("not_reached", [])
                 + list(manifest.get("failed", {})))


def manifest_faults(manifest: dict) -> tuple[Counter, Counter]:
    """(quarantine, field issues) as multisets of (file, line, reason), without deliveries never loaded."""
    skip = _unclosed(manifest)
    q = Counter((r["file"], r["line"], r["kind"]) for r in manifest["quarantine_rows"]
                if not r["file"].startswith(skip))
    f = Counter((r["file"], r["line"], r["kind"]) for r in manifest["field_issue_rows"]
                if not r["file"].startswith(skip))
    return q, f


def lake_faults(con: duckdb.DuckDBPyConnection) -> tuple[Counter, Counter]:
    q = Counter(con.execute("select file, line, reason from lake.quarantine.rows").fetchall())
    f = Counter(con.execute("select file, line, reason from lake.quarantine.field_issues").fetchall())
    return q, f


def ledger(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    cols = ["file", "status", "rows_read", "rows_loaded", "rows_quarantined", "fields_flagged", "file_sha256",
            "table_name"]
    rows = con.execute(f"select {', '.join(cols)} from lake.ops.load_ledger").fetchall()
    return {r[0]: dict(zip(cols, r)) for r in rows}


def assert_reconciles(con: duckdb.DuckDBPyConnection, manifest: dict) -> dict[str, dict]:
    """Every deliberate fault where the manifest says, nothing else flagged, every row accounted for."""
    mq, mf = manifest_faults(manifest)
    lq, lf = lake_faults(con)
    assert lq == mq, f"quarantine differs: missing {sorted((mq - lq).elements())[:10]}, " \
                     f"unexpected {sorted((lq - mq).elements())[:10]}"
    assert lf == mf, f"field issues differ: missing {sorted((mf - lf).elements())[:10]}, " \
                     f"unexpected {sorted((lf - mf).elements())[:10]}"
    led = ledger(con)
    skip = _unclosed(manifest)
    loaded_sha = {(Path(k).name, v["file_sha256"]): v for k, v in led.items() if v["status"] == "loaded"}
    for rel, info in manifest["files"].items():
        if rel.startswith(skip):
            assert rel not in led, f"{rel} belongs to a delivery that must not load"
            continue
        entry = led.get(rel)
        assert entry is not None, f"{rel} is not in the load ledger"
        if entry["status"] == "resend_skipped":
            original = loaded_sha[(Path(rel).name, entry["file_sha256"])]
            assert original["rows_read"] == info["rows"], rel
        else:
            assert entry["rows_read"] == info["rows"], (rel, entry, info)
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_quarantined"], rel
    # the ledger agrees with what the tables really hold
    for table, loaded in con.execute("select table_name, sum(rows_loaded) from lake.ops.load_ledger "
                                     "group by all").fetchall():
        assert con.execute(f"select count(*) from lake.bronze.{table}").fetchone()[0] == loaded, table
    quarantined = con.execute("select sum(rows_quarantined) from lake.ops.load_ledger").fetchone()[0]
    assert con.execute("select count(*) from lake.quarantine.rows").fetchone()[0] == quarantined
    return led


def load_manifest(truth: Path) -> dict:
    return json.loads((truth / "manifest.json").read_text(encoding="utf-8"))
