"""Nightly jobs: the lake's retention policy (core/maintenance.py), after the night's release, and the
access log's witness (api/accesslog.py), which the next publish puts in the open data."""

import dagster as dg

from core import clock


@dg.op(description="Keep every release; expire the snapshots between releases older than "
                   "ONESOURCE_SNAPSHOT_KEEP_DAYS; delete the files only they used; merge small files.")
def apply_retention_policy(context) -> None:
    from core import lake
    from core.maintenance import maintain
    from core.settings import get_settings

    settings = get_settings()
    con = lake.connect(settings)
    try:
        report = maintain(con, settings.snapshot_keep_days)
    finally:
        con.close()
    context.log.info(f"expired {len(report.expired)} of {report.snapshots_before} snapshots; deleted "
                     f"{report.files_deleted} files, merged {report.files_merged}; data "
                     f"{report.bytes_before / 2**20:,.1f} MB -> {report.bytes_after / 2**20:,.1f} MB")


@dg.job(description="The lake's retention policy (see `onesource maintain`).")
def lake_maintenance() -> None:
    apply_retention_policy()


def build_schedule() -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(name="lake_maintenance_nightly", job=lake_maintenance, cron_schedule="30 4 * * *",
                                 execution_timezone=clock.TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING)


@dg.op(description="Verify the API's access log against its witnesses, then witness its head (count and last "
                   "hash) into the lake; the next publish puts it in the open data.")
def witness_access_log(context) -> None:
    from api.accesslog import witness_now

    w = witness_now()
    context.log.info(f"witnessed {w.chain} at seq {w.seq}")


@dg.job(description="The access log's daily witness (see `onesource accesslog checkpoint`).")
def access_log_witness() -> None:
    witness_access_log()


def build_witness_schedule() -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(name="access_log_witness_daily", job=access_log_witness, cron_schedule="0 4 * * *",
                                 execution_timezone=clock.TIMEZONE, default_status=dg.DefaultScheduleStatus.RUNNING)
