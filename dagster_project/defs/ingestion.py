"""Bronze assets: one per contract table, daily partitions per delivery, thin wrappers over ingestion/.

Asset keys are ``[bronze, <system>, <entity>]`` (``bronze.juki__jumin`` -> ``bronze/juki/jumin``); owners are
the departments of the data contracts; descriptions come from the contracts. A run over a partition range
loads the closed deliveries of those days in date order (one lake transaction per delivery); the contract
database has no days and is read by watermark.
"""


import datetime as dt
import os
from pathlib import Path

import dagster as dg

from ingestion.contracts import Contract, Table, contracts
from onesource import lake
from onesource.lake import LAKE_ALIAS as L
from onesource.settings import get_settings

START = os.environ.get("ONESOURCE_PARTITIONS_START", "2026-09-01")
DAILY = dg.DailyPartitionsDefinition(start_date=START, timezone="Asia/Tokyo", end_offset=1)


def landing_dir() -> Path:
    return Path(os.environ.get("ONESOURCE_LANDING") or get_settings().landing_dir)


def bronze_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey(["bronze", table.system, table.name.split("__", 1)[1]])


def _owner(contract: Contract) -> list[str]:
    return [f"team:{contract.owner}"] if contract.owner else []


def _day(partition_key: str) -> str:
    return partition_key.replace("-", "")


def _ingest_system(context: dg.AssetExecutionContext, contract: Contract):
    from ingestion.pipeline import Ingestor

    days: list[str] = []
    if context.has_partition_key_range:
        days = [_day(k) for k in DAILY.get_partition_keys_in_range(context.partition_key_range)]
    elif context.has_partition_key:
        days = [_day(context.partition_key)]
    settings = get_settings()
    ing = Ingestor(settings)
    try:
        results = ing.ingest_days(landing_dir(), contract.system, days)
    finally:
        ing.con.close()
    failed = [r for r in results if r.status == "failed"]
    if failed:
        r = failed[0]
        raise dg.Failure(description=f"delivery {contract.system}/{r.delivery} failed: {r.error}",
                         metadata={"system": contract.system, "delivery": r.delivery, "reason": r.error})
    return results


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
    }


def build_assets() -> list[dg.AssetsDefinition]:
    out = []
    for contract in contracts().values():
        partitioned = contract.connector != "database"
        specs = [dg.AssetSpec(bronze_key(t), group_name="bronze", owners=_owner(contract),
                              description=f"{contract.name}: {t.description}",
                              kinds={"duckdb", "parquet"},
                              metadata={"contract": contract.path.name, "lake_table": f"bronze.{t.name}"},
                              tags={"system": contract.system})
                 for t in contract.tables]

        out.append(dg.multi_asset(
            name=f"load_{contract.system}", specs=specs, can_subset=False,
            partitions_def=DAILY if partitioned else None,
            backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
            description=f"Load {contract.system} deliveries into bronze (ingestion/pipeline.py)",
        )(_compute(contract)))
    return out


def _compute(contract: Contract):
    def compute(context: dg.AssetExecutionContext):
        results = _ingest_system(context, contract)
        for t in contract.tables:
            yield dg.MaterializeResult(asset_key=bronze_key(t), metadata=_table_metadata(results, t))
    return compute


# -- checks ------------------------------------------------------------------------------------
def _reconciliation(table: Table):
    @dg.asset_check(asset=bronze_key(table), name="reconciliation", blocking=True,
                    description="Every row read is loaded or quarantined, and bronze holds what the ledger says.")
    def check() -> dg.AssetCheckResult:
        con = lake.connect(read_only=True)
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
    def check() -> dg.AssetCheckResult:
        con = lake.connect(read_only=True)
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
    def check() -> dg.AssetCheckResult:
        con = lake.connect(read_only=True)
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


# -- sensors -----------------------------------------------------------------------------------
def _db_sensor(system: str, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{system}_changes", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Read the contract database when its file changed (SQLite), else hourly.")
    def db_sensor(context: dg.SensorEvaluationContext):
        path = landing_dir() / system / f"{system}.sqlite"
        hour = int(dt.datetime.now().timestamp()) // 3600
        stamp = str(path.stat().st_mtime_ns) if path.exists() else str(hour)
        if context.cursor == stamp:
            return dg.SkipReason("no change")
        context.update_cursor(stamp)
        return dg.RunRequest(run_key=f"{system}:{stamp}")
    return db_sensor


def _file_sensor(system: str, job) -> dg.SensorDefinition:
    @dg.sensor(name=f"{system}_deliveries", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Start loading a {system} delivery when its _SUCCESS appears.")
    def file_sensor(context: dg.SensorEvaluationContext):
        root = landing_dir() / system
        if not root.is_dir():
            return dg.SkipReason(f"no landing folder {root}")
        seen = set(context.cursor.split(",")) if context.cursor else set()
        keys = set(DAILY.get_partition_keys())
        new = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
            if folder.name in seen or not (folder / "_SUCCESS").exists():
                continue
            key = f"{folder.name[:4]}-{folder.name[4:6]}-{folder.name[6:]}"
            if key in keys:
                new.append(key)
                seen.add(folder.name)
        context.update_cursor(",".join(sorted(seen)))
        if not new:
            return dg.SkipReason("no new closed delivery")
        if len(new) == 1:
            return dg.RunRequest(run_key=f"{system}:{new[0]}", partition_key=new[0])
        # several closed deliveries at once (a first start, a catch-up): one run over their range, in date order
        return dg.RunRequest(run_key=f"{system}:{new[0]}..{new[-1]}",
                             tags={"dagster/asset_partition_range_start": new[0],
                                   "dagster/asset_partition_range_end": new[-1]})
    return file_sensor


def build_sensors(job_for: dict) -> list[dg.SensorDefinition]:
    return [_db_sensor(s, job_for[s]) if c.connector == "database" else _file_sensor(s, job_for[s])
            for s, c in contracts().items()]
