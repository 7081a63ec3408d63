"""Bronze assets: one per contract table, loaded by the refresh sequence's ingest stage.

Asset keys are ``[bronze, <system>, <entity>]`` (``bronze.juki__jumin`` -> ``bronze/juki/jumin``); owners are
the departments of the data contracts; descriptions come from the contracts. A run over a partition range
loads the closed deliveries of those days in date order (one lake transaction per delivery); the contract
database has no days and is read by watermark.
"""

import functools

import dagster as dg

from dagster_project.defs.ingestion import checks
from dagster_project.defs.resources import Platform
from ingestion.contracts import Contract, Table, contracts
from onesource import refresh
from onesource.core.settings import Settings


@functools.cache
def daily(start: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start, timezone="Asia/Tokyo", end_offset=1)


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


def _compute(contract: Contract, partitions: dg.DailyPartitionsDefinition):
    def compute(context: dg.AssetExecutionContext, platform: Platform):
        days: list[str] = []
        if context.has_partition_key_range:
            days = [_day(k) for k in partitions.get_partition_keys_in_range(context.partition_key_range)]
        elif context.has_partition_key:
            days = [_day(context.partition_key)]
        settings = platform.settings()
        loader = platform.ingestor()
        results = refresh.ingest_days(settings, settings.landing_dir, contract.system, days, ingestor=loader)
        for r in results:  # reported, not failed: the lake keeps what was loaded until an operator reloads
            if r.status == "changed":
                context.log.warning(r.error)
        failed = [r for r in results if r.status == "failed"]
        if failed:
            r = failed[0]
            raise dg.Failure(description=f"delivery {contract.system}/{r.delivery} failed: {r.error}",
                             metadata={"system": contract.system, "delivery": r.delivery, "reason": r.error})
        for t in contract.tables:
            yield dg.MaterializeResult(asset_key=bronze_key(t), metadata=_table_metadata(results, t))
        yield from checks.evaluate(loader.con, contract, bronze_key)  # on the loader's own connection
    return compute


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = daily(settings.partitions_start)
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
            partitions_def=partitions if partitioned(contract) else None,
            backfill_policy=dg.BackfillPolicy.single_run() if partitioned(contract) else None,
            description=f"Load {contract.system} deliveries into bronze ({refresh.INGEST.description})",
        )(_compute(contract, partitions)))
    return out
