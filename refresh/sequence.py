"""The refresh sequence, defined once: ingest → staging → linkage → marts → products → publish → release.

Every way of running the platform calls these stages: ``onesource refresh`` and ``onesource build`` (the
whole sequence in one process), Dagster's assets, jobs, sensors and schedules (each asset is one stage,
or the part of a dbt stage it stands for), the tests' city fixture and ``bench/``. Nothing else spells
the order or a stage's dbt selection.

Each stage commits on its own, so a crash leaves the lake at the previous stage and running the
refresh again finishes the work (tests/refresh/test_recovery.py); the release is marked only when every stage
before it succeeded. Running the stages in one process pays dbt's start-up once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the stages' own modules, where a reader of the sequence sees them (importing them all costs about 0.2 s)
from core import lake, progress
from core.dbt import run_dbt
from core.releases import Release, mark_release
from core.settings import Settings, get_settings
from identity.link import link_all
from identity.linkage import LinkageResult
from ingestion.pipeline import Ingestor
from ingestion.pipeline import ingest as ingest_deliveries
from ingestion.reports import DeliveryResult, IngestReport
from publish import dashboards, opendata


@dataclass(frozen=True)
class Stage:
    name: str
    description: str
    dbt_select: str | None = None  # the dbt models a dbt stage builds (dbt's selection syntax)


INGEST = Stage("ingest", "closed deliveries into bronze and quarantine, one lake transaction each")
STAGING = Stage("staging", "normalized staging models and the linkage inputs",
                dbt_select="staging intermediate.identity")
LINKAGE = Stage("linkage", "名寄せ: stable person_id and business_id per source record")
MARTS = Stage("marts", "golden records, department marts, once-only, KPIs, open-data aggregates",
              dbt_select="marts intermediate.once_only")
PRODUCTS = Stage("products", "each department's data products and the analysts' pseudonymized zone "
                  "(data_contracts/access_policy.yaml)", dbt_select="products analysis")
PUBLISH = Stage("publish", "open-data files with their DCAT catalog, and the dashboards")
RELEASE = Stage("release", "the snapshot in which every mart is complete: what the API serves")
SEQUENCE: tuple[Stage, ...] = (INGEST, STAGING, LINKAGE, MARTS, PRODUCTS, PUBLISH, RELEASE)
DBT_STAGES: tuple[Stage, ...] = tuple(s for s in SEQUENCE if s.dbt_select)


class RefreshFailed(RuntimeError):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage


@contextmanager
def _one_collection() -> Iterator[None]:
    """A stage allocates millions of short-lived objects (dbt's graph and its rendered SQL, the linkage's
    pairs and clusters) beside a large live heap (dbt's manifest): Python's cyclic collector would walk that
    heap again and again, about an eighth of a daily refresh at 500,000 residents. Reference counting frees
    nearly everything as it goes; the few cycles left are collected once, when the stage ends, among the
    objects the stage made (the young generations): a full collection walks the whole heap of imports and
    manifest again, 0.4 s a stage, eleven stages in a Dagster run."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(1)


@contextmanager
def transforming(settings: Settings) -> Iterator[None]:
    """What a transformation stage holds while it runs (dbt, the linkage), whichever process does the work
    (dagster-dbt's own dbt process on the public framework path): the lake's claim for one transformation at a
    time, and no cyclic collection until it ends."""
    with lake.writer_claim(settings, "transform"), _one_collection():
        yield


# -- the stages, one function each ------------------------------------------------------------------
def ingest(settings: Settings, landing: Path, systems: Sequence[str] | None = None,
           run_expectations: bool = True,
           on_delivery: Callable[[DeliveryResult], None] | None = None,
           reload: Sequence[str] | None = None) -> IngestReport:
    """Every closed delivery under ``landing`` not loaded yet, and the contract database's changes; first the
    corrected deliveries named in ``reload`` (SYSTEM/YYYYMMDD), loaded again as delivered now."""
    def delivered(d: DeliveryResult) -> None:
        progress.report("ingest", f"{d.system}/{d.delivery}")
        if on_delivery:
            on_delivery(d)

    progress.report("ingest")
    with _one_collection():
        return ingest_deliveries(landing, settings, systems=list(systems) if systems else None,
                   run_expectations=run_expectations, on_delivery=delivered,
                   reload=list(reload) if reload else None)


def ingest_days(settings: Settings, landing: Path, system: str, days: Sequence[str],
                ingestor: Ingestor | None = None) -> list[DeliveryResult]:
    """These delivery days (YYYYMMDD) of one system, in date order (Dagster's daily partitions), by
    ``ingestor`` when the caller keeps one for several systems."""
    progress.report(f"ingest {system}", f"{len(days)} deliveries")
    with lake.writer_claim(settings), _one_collection():  # each delivery is claimed on its own as well
        ing = ingestor or Ingestor(settings)
        try:
            return ing.ingest_days(landing, system, list(days))
        finally:
            if ingestor is None:
                ing.con.close()


def dbt_build(settings: Settings, stage: Stage, selection: Sequence[str] | None = None, check: bool = True) -> Any:
    """``dbt build`` of a dbt stage (or of ``selection``, dbt arguments a caller computed for a subset of it)
    in this process; returns dbt's result. Raises RefreshFailed when a model or a test failed (``check``), or
    when dbt could not run at all."""
    if stage.dbt_select is None:
        raise ValueError(f"stage {stage.name} runs no dbt")
    args = ["build", *(selection if selection is not None else ["--select", stage.dbt_select])]
    with transforming(settings):
        result = run_dbt(args, settings, reuse_manifest=True, label=stage.name)
    if result.exception is not None or (check and not result.success):
        failed = [f"{r.node.name}: {r.status}" for r in (getattr(result.result, "results", None) or [])
                  if str(r.status) not in ("success", "pass", "skipped")]
        raise RefreshFailed(stage.name, "dbt build failed" + (f" ({', '.join(failed[:5])})" if failed else
                                                               " (see the dbt log)"))
    return result


def link(settings: Settings, incremental: bool = True) -> dict[str, tuple[str, LinkageResult]]:
    """Link persons and businesses: new and changed records onto the known clusters (``incremental``), or
    retrain and re-cluster everything (a full relink)."""
    progress.report("linkage", "incremental" if incremental else "full relink")
    with transforming(settings):
        con = lake.connect(settings)
        try:
            return link_all(con, settings, incremental=incremental)
        finally:
            con.close()


def publish_opendata(settings: Settings, out: Path | None = None) -> dict[str, Path]:
    progress.report("publish", "open data")
    with lake.writer_claim(settings, "transform"):
        con = lake.connect(settings)
        try:
            return opendata.publish(con, (out or settings.home) / "opendata", base_url=settings.opendata_base_url,
                       area_codes=settings.opendata_area_codes_file)
        finally:
            con.close()


def publish_dashboards(settings: Settings, out: Path | None = None) -> dict[str, Path]:
    progress.report("publish", "dashboards")
    con = lake.connect(settings, read_only=True)
    try:
        return dashboards.build(con, (out or settings.home) / "dashboards")
    finally:
        con.close()


def publish(settings: Settings, out: Path | None = None) -> dict[str, Path]:
    """The open-data files with their catalog, then the dashboards (under ``out``, default the home)."""
    return {**publish_opendata(settings, out), **publish_dashboards(settings, out)}


def release(settings: Settings, note: str) -> Release:
    """Record the lake's current snapshot as a release (the marts in it are complete)."""
    progress.report("release")
    with lake.writer_claim(settings, "transform"):
        con = lake.connect(settings)
        try:
            return mark_release(con, note)
        finally:
            con.close()


# -- the whole sequence -----------------------------------------------------------------------------
@dataclass
class RefreshReport:
    stages: list[tuple[str, float]] = field(default_factory=list)  # (stage, seconds)
    ingest: IngestReport | None = None
    linkage: dict = field(default_factory=dict)  # entity -> (run_id, LinkageResult)
    published: dict[str, Path] = field(default_factory=dict)
    release: Release | None = None


def run_refresh(settings: Settings | None = None, landing: Path | None = None, incremental: bool = True,
                run_expectations: bool = True, note: str = "onesource refresh", publish_to: Path | None = None,
                on_stage: Callable[[str, float], None] | None = None,
                only: Sequence[str] | None = None) -> RefreshReport:
    """Run the sequence: ingest ``landing`` (skipped when None), staging, linkage (``incremental`` or a full
    relink), marts, products, publish, release; ``only`` runs just the named stages, in the sequence's order (a benchmark
    measuring each stage in a process of its own). Raises RefreshFailed naming the stage that failed."""
    settings = settings or get_settings()
    unknown = set(only or ()) - {s.name for s in SEQUENCE}
    if unknown:
        raise ValueError(f"no stage {', '.join(sorted(unknown))}; the stages are {', '.join(s.name for s in SEQUENCE)}")
    report = RefreshReport()
    steps: dict[str, Callable[[], Any]] = {
        INGEST.name: lambda: _ingest_or_fail(settings, landing, run_expectations, report),
        STAGING.name: lambda: dbt_build(settings, STAGING),
        LINKAGE.name: lambda: report.linkage.update(link(settings, incremental=incremental)),
        MARTS.name: lambda: dbt_build(settings, MARTS),
        PRODUCTS.name: lambda: dbt_build(settings, PRODUCTS),
        PUBLISH.name: lambda: report.published.update(publish(settings, publish_to)),
        RELEASE.name: lambda: setattr(report, "release", release(settings, note)),
    }
    for stage in SEQUENCE:
        if (stage is INGEST and landing is None) or (only and stage.name not in only):
            continue
        t0 = time.perf_counter()
        steps[stage.name]()
        report.stages.append((stage.name, round(time.perf_counter() - t0, 1)))
        if on_stage:
            on_stage(*report.stages[-1])
    return report


def _ingest_or_fail(settings: Settings, landing: Path, run_expectations: bool, report: RefreshReport) -> None:
    report.ingest = ingest(settings, landing, run_expectations=run_expectations)
    if report.ingest.failed:
        names = ", ".join(f"{d.system}/{d.delivery}" for d in report.ingest.failed)
        raise RefreshFailed(INGEST.name, f"deliveries failed: {names}")
