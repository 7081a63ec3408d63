"""Checks on every bronze table: reconciliation (blocking), the contract's expectations, freshness, and
whether every loaded delivery is still as it was loaded (an error, not blocking: the refresh goes on with what
was loaded, and the run says a person must reload the corrected delivery).

They are declared on the asset that loads the table and evaluated by it right after the load, on one lake
connection for all of a system's tables (a connection per check cost about 0.2 s, 27 of them per day).
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import duckdb

from core.lake import LAKE_ALIAS as L
from ingestion.contracts import Contract, Table

DESCRIPTIONS = {
    "reconciliation": "Every row read is loaded or quarantined, and bronze holds what the ledger says.",
    "contract_expectations": "The Great Expectations suite generated from the data contract passed on the "
                             "newest batch.",
    "freshness": "A delivery within the contract's latency of the platform's newest delivery.",
    "as_delivered": "Every loaded delivery's folder still holds what was loaded from it; a delivery corrected "
                    "in place after its load is named with what changed, to be loaded again with `onesource "
                    "ingest --reload SYSTEM/DELIVERY`.",
}
AS_DELIVERED = "as_delivered"


def specs(contract: Contract, key_of) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=key_of(t), blocking=name == "reconciliation",
                              description=DESCRIPTIONS[name] if name != "freshness" else
                              f"A delivery within {contract.freshness_days:g} days of the platform's newest "
                              "delivery (the contract's latency).")
            for t in contract.tables for name in DESCRIPTIONS]


def reconciliation(con: duckdb.DuckDBPyConnection, table: Table) -> dict:
    read, loaded, quarantined = con.execute(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
        f"from {L}.ops.load_ledger where table_name = ?", [table.name]).fetchone()
    in_bronze = con.execute(f"select count(*) from {L}.bronze.{table.name}").fetchone()[0]
    in_quarantine = con.execute(f"select count(*) from {L}.quarantine.rows where table_name = ?",
                                [table.name]).fetchone()[0]
    ok = read == loaded + quarantined and in_bronze == loaded and in_quarantine == quarantined
    return {"passed": bool(ok), "metadata": {
        "rows_read": int(read), "rows_loaded": int(loaded), "rows_quarantined": int(quarantined),
        "rows_in_bronze": int(in_bronze), "rows_in_quarantine": int(in_quarantine)}}


def expectations(con: duckdb.DuckDBPyConnection, table: Table) -> dict:
    rows = con.execute(
        f"select expectation, column_name, success, unexpected_count from {L}.ops.expectation_results "
        f"where table_name = ? and batch_id = (select max(batch_id) from {L}.ops.expectation_results "
        f"where table_name = ?)", [table.name, table.name]).fetchall()
    failed = [f"{e}({c})" for e, c, s, _n in rows if not s]
    return {"passed": not failed, "metadata": {"expectations": len(rows),
                                               "failed": dg.MetadataValue.text(", ".join(failed) or "none")}}


def freshness(con: duckdb.DuckDBPyConnection, contract: Contract) -> dict:
    days = contract.freshness_days
    newest, overall = con.execute(
        f"select max(delivery_date) filter (where system = ?), max(delivery_date) from {L}.ops.deliveries "
        "where status in ('loaded', 'resend')", [contract.system]).fetchone()
    if newest is None:
        return {"passed": False, "severity": dg.AssetCheckSeverity.WARN, "metadata": {"newest_delivery": "none"}}
    age = (overall - newest).days if isinstance(overall, dt.date) else 0
    return {"passed": days is None or age <= days, "severity": dg.AssetCheckSeverity.WARN,
            "metadata": {"newest_delivery": str(newest), "days_behind": age, "allowed_days": days or 0}}


def as_delivered(changed: list, table: Table) -> dict:
    """``changed``: the system's deliveries changed after their load (``Ingestor.changed_after_load``)."""
    names = [f"{d.system}/{d.delivery}" for d in changed]
    return {"passed": not changed, "severity": dg.AssetCheckSeverity.ERROR, "metadata": {
        "changed_after_load": dg.MetadataValue.text("; ".join(d.error or "" for d in changed) or "none"),
        "to_reload": dg.MetadataValue.text(" ".join(f"--reload {n}" for n in names) or "none")}}


def evaluate(con: duckdb.DuckDBPyConnection, contract: Contract, key_of,
             changed: list | None = None) -> Iterator[dg.AssetCheckResult]:
    """Every check of every table of ``contract``, on one connection; ``changed``: its deliveries changed after
    their load."""
    fresh = freshness(con, contract)
    for t in contract.tables:
        for name, result in (("reconciliation", reconciliation(con, t)),
                             ("contract_expectations", expectations(con, t)), ("freshness", fresh),
                             (AS_DELIVERED, as_delivered(changed or [], t))):
            yield dg.AssetCheckResult(asset_key=key_of(t), check_name=name, **result)
