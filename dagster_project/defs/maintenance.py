"""The lake's retention policy as a nightly job (onesource/core/maintenance.py), after the night's release."""

import dagster as dg


@dg.op(description="Keep every release; expire the snapshots between releases older than "
                   "ONESOURCE_SNAPSHOT_KEEP_DAYS; delete the files only they used; merge small files.")
def apply_retention_policy(context) -> None:
    from onesource.core import lake
    from onesource.core.maintenance import maintain
    from onesource.core.settings import get_settings

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
                                 execution_timezone="Asia/Tokyo", default_status=dg.DefaultScheduleStatus.RUNNING)
