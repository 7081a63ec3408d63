"""A refresh in one process: ingest the new deliveries, staging, linkage, the marts, a release.

``onesource refresh`` is the daily run without the Dagster UI (a cron line or a job runner calls it);
``onesource link`` is the same without the ingestion. Running the stages in one process pays dbt's
start-up (about 3 seconds of imports) once; each stage still commits on its own, so a crash in any of
them leaves the lake at the previous stage, and running the refresh again finishes the work (see
tests/test_recovery.py). The release is marked only when every stage succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from onesource.settings import Settings


class RefreshFailed(RuntimeError):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage


@dataclass
class RefreshReport:
    stages: list[tuple[str, float]] = field(default_factory=list)  # (stage, seconds)
    ingest: object | None = None  # ingestion.pipeline.IngestReport
    linkage: dict = field(default_factory=dict)  # entity -> (run_id, LinkageResult)
    release: object | None = None  # onesource.releases.Release


def run_refresh(settings: Settings, landing: Path | None = None, incremental: bool = True,
                run_expectations: bool = True, note: str = "onesource refresh",
                on_stage: Callable[[str, float], None] | None = None) -> RefreshReport:
    """Ingest ``landing`` (when given), build staging, link (``incremental``: new and changed records onto
    the known clusters), build the marts and mark a release. Raises RefreshFailed naming the stage."""
    from identity.run import link_all
    from onesource import lake
    from onesource.dbt import run_dbt
    from onesource.releases import mark_release

    report = RefreshReport()

    def timed(name: str, fn: Callable[[], object]) -> object:
        t0 = time.perf_counter()
        out = fn()
        report.stages.append((name, round(time.perf_counter() - t0, 1)))
        if on_stage:
            on_stage(*report.stages[-1])
        return out

    def dbt_build(*select: str) -> None:
        if not run_dbt(["build", "--select", *select], settings).success:
            raise RefreshFailed("dbt", f"dbt build --select {' '.join(select)} failed (see the dbt log)")

    def with_lake(fn):
        con = lake.connect(settings)
        try:
            return fn(con)
        finally:
            con.close()

    if landing is not None:
        from ingestion.pipeline import ingest

        report.ingest = timed("ingest", lambda: ingest(landing, settings, run_expectations=run_expectations))
        if report.ingest.failed:
            names = ", ".join(f"{d.system}/{d.delivery}" for d in report.ingest.failed)
            raise RefreshFailed("ingest", f"deliveries failed: {names}")
    timed("staging", lambda: dbt_build("staging", "intermediate"))
    report.linkage = timed("linkage", lambda: with_lake(lambda con: link_all(con, settings,
                                                                            incremental=incremental)))
    timed("marts", lambda: dbt_build("marts"))
    report.release = timed("release", lambda: with_lake(lambda con: mark_release(con, note)))
    return report
