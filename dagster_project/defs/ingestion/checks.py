"""Checks on every bronze table: reconciliation (blocking), the contract's expectations, freshness."""

import datetime as dt

import dagster as dg

from dagster_project.defs.ingestion.assets import bronze_key
from dagster_project.defs.resources import Platform
from ingestion.contracts import Contract, Table, contracts
from onesource.core import lake
from onesource.core.lake import LAKE_ALIAS as L


def _reconciliation(table: Table):
    @dg.asset_check(asset=bronze_key(table), name="reconciliation", blocking=True,
                    description="Every row read is loaded or quarantined, and bronze holds what the ledger says.")
    def check(platform: Platform) -> dg.AssetCheckResult:
        con = lake.connect(platform.settings(), read_only=True)
        try:
            read, loaded, quarantined = con.execute(
                f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
                f"coalesce(sum(rows_quarantined), 0) from {L}.ops.load_ledger where table_name = ?",
                [table.name]).fetchone()
            in_bronze = con.execute(f"select count(*) from {L}.bronze.{table.name}").fetchone()[0]
            in_quarantine = con.execute(f"select count(*) from {L}.quarantine.rows where table_name = ?",
                                        [table.name]).fetchone()[0]
        finally:
            con.close()
        ok = read == loaded + quarantined and in_bronze == loaded and in_quarantine == quarantined
        return dg.AssetCheckResult(passed=bool(ok), metadata={
            "rows_read": int(read), "rows_loaded": int(loaded), "rows_quarantined": int(quarantined),
            "rows_in_bronze": int(in_bronze), "rows_in_quarantine": int(in_quarantine)})
    return check


def _expectations(table: Table):
    @dg.asset_check(asset=bronze_key(table), name="contract_expectations",
                    description="The Great Expectations suite generated from the data contract passed on the "
                                "newest batch.")
    def check(platform: Platform) -> dg.AssetCheckResult:
        con = lake.connect(platform.settings(), read_only=True)
        try:
            rows = con.execute(
                f"select expectation, column_name, success, unexpected_count from {L}.ops.expectation_results "
                f"where table_name = ? and batch_id = (select max(batch_id) from {L}.ops.expectation_results "
                f"where table_name = ?)", [table.name, table.name]).fetchall()
        finally:
            con.close()
        failed = [f"{e}({c})" for e, c, s, _n in rows if not s]
        return dg.AssetCheckResult(passed=not failed, metadata={
            "expectations": len(rows), "failed": dg.MetadataValue.text(", ".join(failed) or "none")})
    return check


def _freshness(contract: Contract, table: Table):
    days = contract.freshness_days

    @dg.asset_check(asset=bronze_key(table), name="freshness",
                    description=f"A delivery within {days:g} days of the platform's newest delivery "
                                "(the contract's latency).")
    def check(platform: Platform) -> dg.AssetCheckResult:
        con = lake.connect(platform.settings(), read_only=True)
        try:
            newest, overall = con.execute(
                f"select max(delivery_date) filter (where system = ?), max(delivery_date) "
                f"from {L}.ops.deliveries where status in ('loaded', 'resend')", [contract.system]).fetchone()
        finally:
            con.close()
        if newest is None:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                       metadata={"newest_delivery": "none"})
        age = (overall - newest).days if isinstance(overall, dt.date) else 0
        return dg.AssetCheckResult(passed=days is None or age <= days, severity=dg.AssetCheckSeverity.WARN,
                                   metadata={"newest_delivery": str(newest), "days_behind": age,
                                             "allowed_days": days or 0})
    return check


def build_checks() -> list[dg.AssetChecksDefinition]:
    out = []
    for contract in contracts().values():
        for t in contract.tables:
            out += [_reconciliation(t), _expectations(t), _freshness(contract, t)]
    return out
