"""Bronze assets: one per contract table, loaded by the refresh sequence's ingest stage.

Asset keys are ``[bronze, <system>, <entity>]`` (``bronze.juki__jumin`` -> ``bronze/juki/jumin``); owners are
the departments of the data contracts; descriptions come from the contracts. The file-based systems' assets are
partitioned by delivery day: a partition is a day on which deliveries arrived (``2026-11-03``), added when the
first closed delivery of that day is loaded (by a sensor, or by ``onesource build``), so the UI lists the days the
city delivered, never calendar days before the first delivery or between deliveries as "missing". A run over a
range of them loads the closed deliveries of those days in date order (one lake transaction per delivery); the
contract database has no days and is read by watermark.
"""

import dagster as dg

from core import lake
from core.settings import Settings
from dagster_project.defs.ingestion import checks
from dagster_project.defs.resources import OWNER, Platform
from ingestion.contracts import Contract, Table, contracts
from refresh import sequence

DELIVERIES = dg.DynamicPartitionsDefinition(name="deliveries")


def delivery_key(folder: str) -> str:
    """The partition of a delivery folder's day (``20261103`` -> ``2026-11-03``)."""
    return f"{folder[:4]}-{folder[4:6]}-{folder[6:]}"


def bronze_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey(["bronze", table.system, table.name.split("__", 1)[1]])


def partitioned(contract: Contract) -> bool:
    return contract.connector != "database"


def _day(partition_key: str) -> str:
    return partition_key.replace("-", "")


def _table_metadata(results, table: Table) -> dict:
    files = [f for r in results for f in r.files if f.table == table.name]
    return {
        "deliveries": dg.MetadataValue.text(", ".join(r.delivery for r in results if r.status != "waiting") or "none"),
        "waiting": dg.MetadataValue.text(", ".join(r.delivery for r in results if r.status == "waiting") or "none"),
        "rows_read": sum(f.rows_read for f in files),
        "rows_loaded": sum(f.rows_loaded for f in files),
        "rows_quarantined": sum(f.rows_quarantined for f in files),
        "fields_flagged": sum(f.fields_flagged for f in files),
        "resends_skipped": sum(1 for f in files if f.status == "resend_skipped"),
        "empty_files": dg.MetadataValue.text(", ".join(f.file for f in files if f.status == "empty") or "none"),
        "changed_after_load": dg.MetadataValue.text(
            "; ".join(r.error or r.delivery for r in results if r.status == "changed") or "none"),
    }


def _compute(contract: Contract):
    def compute(context: dg.AssetExecutionContext, platform: Platform):
        days = sorted(_day(k) for k in context.partition_keys) if context.has_partition_key_range or \
            context.has_partition_key else []
        settings = platform.settings()
        loader = platform.ingestor()
        results = sequence.ingest_days(settings, settings.landing_dir, contract.system, days, ingestor=loader)
        # any loaded delivery of the system, not only these days': reported and checked, not failed (the lake
        # keeps what was loaded until an operator reloads it)
        changed = loader.changed_after_load(settings.landing_dir, contract.system)
        for r in changed:
            context.log.warning(r.error)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            r = failed[0]
            raise dg.Failure(description=f"delivery {contract.system}/{r.delivery} failed: {r.error}",
                             metadata={"system": contract.system, "delivery": r.delivery, "reason": r.error})
        for t in contract.tables:
            yield dg.MaterializeResult(asset_key=bronze_key(t), metadata=_table_metadata(results, t))
        yield from checks.evaluate(loader.con, contract, bronze_key, changed)  # on the loader's own connection
    return compute


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    out = []
    for contract in contracts().values():
        specs = [dg.AssetSpec(bronze_key(t), group_name="bronze",
                              owners=[f"team:{contract.owner}"] if contract.owner else [],
                              description=f"{contract.name}: {t.description}", kinds={"duckdb", "parquet"},
                              metadata={"contract": contract.path.name, "lake_table": f"bronze.{t.name}"},
                              tags={"system": contract.system})
                 for t in contract.tables]
        out.append(dg.multi_asset(
            name=f"load_{contract.system}", specs=specs, can_subset=False,
            check_specs=checks.specs(contract, bronze_key),
            partitions_def=DELIVERIES if partitioned(contract) else None,
            backfill_policy=dg.BackfillPolicy.single_run() if partitioned(contract) else None,
            description=f"Load {contract.system} deliveries into bronze ({sequence.INGEST.description})",
        )(_compute(contract)))
    out.append(field_issues_asset([bronze_key(t) for c in contracts().values() for t in c.tables]))
    return out


FIELD_ISSUES_KEY = dg.AssetKey(["quarantine", "ingestion", "field_issues"])


def field_issues_asset(bronze_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """``quarantine.field_issues``, which every load writes and the staging models read: recorded after the loads
    with what it holds, so the graph shows it as the loads left it (it was a stub: undescribed, never
    materialized)."""

    @dg.asset(key=FIELD_ISSUES_KEY, group_name="quarantine", owners=[OWNER], deps=bronze_keys, kinds={"duckdb"},
              metadata={"lake_table": "quarantine.field_issues"},
              description="One row per unusable field of a loaded row (the field is null in bronze): system, table, "
                          "delivery, file and line, record key, field, reason (invalid_date, "
                          "bad_check_digit_my_number, unknown_code, ...) and the raw value with 個人番号 masked. "
                          "Written by each system's load in the same transaction as its bronze rows; the staging "
                          "models flag the fields from it.")
    def field_issues(platform: Platform) -> dg.MaterializeResult:
        con = lake.connect(platform.settings(), read_only=True)
        try:
            if not lake.table_exists(con, "quarantine", "field_issues"):
                return dg.MaterializeResult(metadata={"field_issues": 0})
            rows = con.execute(f"select system, reason, count(*) from {lake.LAKE_ALIAS}.quarantine.field_issues "
                               "group by all order by all").fetchall()
        finally:
            con.close()
        return dg.MaterializeResult(metadata={
            "field_issues": sum(n for *_, n in rows),
            "by_system_and_reason": dg.MetadataValue.md(
                "| system | reason | fields |\n|---|---|---|\n" + "\n".join(f"| {s} | {r} | {n} |" for s, r, n in rows))})

    return field_issues
