"""Commands that run the refresh sequence (refresh/sequence.py) or a part of it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cli._common import (
    NEEDS_RELOAD,
    LandingOption,
    NoExpectations,
    console,
    fail,
    landing_dir,
    progress_bar,
)
from core.settings import get_settings
from refresh import sequence

IncrementalOption = Annotated[bool, typer.Option(
    "--incremental/--full-relink", help="Link only new and changed records onto the known clusters with the last "
    "full run's model (a daily refresh), or re-train and re-cluster every record.")]


def ingest(landing: LandingOption = None,
           system: Annotated[list[str] | None, typer.Option(help="Only these systems (repeatable).")] = None,
           no_expectations: NoExpectations = False,
           reload: Annotated[list[str] | None, typer.Option(
               help="Load this delivery again as it is delivered now (SYSTEM/YYYYMMDD, repeatable): a corrected "
                    "delivery, or one changed after its load. Its earlier rows stay in the lake's history.")]
           = None) -> None:
    """Load every closed delivery not loaded yet; exit 1 naming any delivery that failed, 4 when a delivery was
    changed after its load (the lake keeps what was loaded until it is reloaded)."""
    from rich.console import Console
    from rich.table import Table as RichTable

    settings = get_settings()
    landing = landing_dir(landing, settings)
    t0 = time.perf_counter()
    with console.status("ingesting") as status:
        try:
            report = sequence.ingest(settings, landing, systems=system, run_expectations=not no_expectations,
                                     on_delivery=lambda d: status.update(f"ingesting: {d.system}/{d.delivery} "
                                                                         f"{d.status}"), reload=reload)
        except ValueError as exc:  # a --reload that names no delivery
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    out = Console(width=160)
    table = RichTable(title=f"ingested {landing}")
    for col in ("system", "deliveries", "re-sends", "waiting", "failed", "rows read", "loaded", "quarantined",
                "fields flagged", "expectations failed"):
        table.add_column(col, justify="left" if col == "system" else "right")
    for name, c in report.by_system().items():
        table.add_row(name, str(c["deliveries_loaded"]), str(c["deliveries_resend"]), str(c["deliveries_waiting"]),
                      str(c["deliveries_failed"]), f"{c['read']:,}", f"{c['loaded']:,}", f"{c['quarantined']:,}",
                      f"{c['flagged']:,}", str(c["expectations_failed"]))
    out.print(table)
    drift: dict[tuple[str, str], list[str]] = {}
    for d in report.deliveries:
        for f in d.files:
            for col in f.unknown_columns:
                drift.setdefault((d.system, col), []).append(f.file)
    for (name, col), files in drift.items():
        out.print(f"schema drift: {name} delivers {col!r}, which its contract does not know, in {len(files)} "
                  f"file(s) from {files[0]}; kept in _overflow (see lake.ops.schema_drift)")
    for d in report.deliveries:
        if d.status == "waiting":
            out.print(f"waiting: {d.system}/{d.delivery} has no _SUCCESS yet")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    out.print(f"done in {time.perf_counter() - t0:.1f}s")
    if report.failed:
        for d in report.failed:
            typer.echo(f"error: delivery {d.system}/{d.delivery} failed: {d.error}", err=True)
        raise typer.Exit(1)
    if report.changed:  # loaded all else; a person decides whether the corrected delivery replaces the loaded one
        raise typer.Exit(NEEDS_RELOAD)


def _print_linkage(results: dict) -> None:
    for entity, (run_id, r) in results.items():
        typer.echo(f"{entity} linkage {run_id}: {r.records:,} records, {r.deterministic_edges:,} deterministic "
                   f"edges, {r.scored_pairs:,} scored pairs, {r.probabilistic_links:,} links, "
                   f"{r.blocked_by_guard:,} blocked by the guard, {r.key_conflicts:,} key links refused as "
                   f"conflicts, {r.review_pairs:,} to review, "
                   f"{r.clusters:,} {'businesses' if entity == 'business' else 'persons'} in {r.seconds}s"
                   + (f"; on {r.labels:,} reviewed pairs P {r.label_precision} R {r.label_recall}"
                      if r.labels else ""))


def _run(landing: Path | None, incremental: bool, note: str, run_expectations: bool = True,
         only: list[str] | None = None) -> None:
    try:
        with progress_bar():
            report = sequence.run_refresh(get_settings(), landing, incremental=incremental,
                                          run_expectations=run_expectations, note=note, only=only,
                                          on_stage=lambda name, s: typer.echo(f"stage {name} {s:.1f}s"))
    except (sequence.RefreshFailed, ValueError) as exc:
        raise fail(str(exc)) from None
    _print_linkage(report.linkage)
    if report.release is not None:
        typer.echo(f"release {report.release.release_id}: snapshot {report.release.snapshot_id}")
    typer.echo(f"refreshed in {sum(s for _n, s in report.stages):.1f}s")
    for warning in report.ingest.warnings if report.ingest else []:
        typer.echo(f"warning: {warning}", err=True)
    if report.ingest and report.ingest.changed:
        raise typer.Exit(NEEDS_RELOAD)


def print_quality(truth: Path) -> None:
    from core import lake
    from identity.quality import pairwise

    con = lake.connect(read_only=True)
    try:
        for entity in ("person", "business"):
            q = pairwise(con, truth / f"{entity}_truth.csv", entity)
            typer.echo(f"{entity} quality vs {truth.name}: precision {q.precision:.4f}, recall {q.recall:.4f}, "
                       f"F1 {q.f1:.4f} ({q.records_scored:,} records)")
    finally:
        con.close()


def link(truth: Annotated[Path | None, typer.Option(help="Truth folder: also report pairwise precision/recall.")]
         = None,
         incremental: Annotated[bool, typer.Option("--incremental", help="Link only new and changed records onto "
                                                   "the known clusters with the last full run's model.")] = False,
         ) -> None:
    """Without ingesting: staging, linkage (stable ids, review queue), marts, open data, dashboards, release."""
    _run(None, incremental, "onesource link")
    if truth is not None:
        print_quality(truth)


def refresh(landing: LandingOption = None, incremental: IncrementalOption = True,
            no_expectations: NoExpectations = False,
            stage: Annotated[list[str] | None, typer.Option(help="Only this stage of the sequence (repeatable): "
                                                             + ", ".join(s.name for s in sequence.SEQUENCE))]
            = None) -> None:
    """The daily refresh in one process: ingest, staging, linkage, marts, data products, open data, dashboards,
    release."""
    _run(landing_dir(landing, get_settings()), incremental, "onesource refresh", not no_expectations, stage)


def publish(out: Annotated[Path | None, typer.Option(help="Folder for opendata/ and dashboards/ "
                                                          "(default ONESOURCE_HOME).")] = None) -> None:
    """Write the open-data files with their DCAT catalog, and the dashboards, from the marts; then a release."""
    settings = get_settings()
    files = sequence.publish(settings, out)
    rel = sequence.release(settings, "onesource publish")
    typer.echo(f"release {rel.release_id}: snapshot {rel.snapshot_id}")
    for name, path in files.items():
        typer.echo(f"{name}: {path}")


def build(landing: LandingOption = None) -> None:
    """The whole asset graph through Dagster, on the platform's Dagster instance, without the UI."""
    from dagster_project.build import run_build
    from dagster_project.defs.ingestion.checks import AS_DELIVERED

    settings = get_settings()
    landing = landing_dir(landing, settings)
    t0 = time.perf_counter()
    with progress_bar("loading the Dagster definitions"):
        s = run_build(landing, settings)
    typer.echo("rows per layer: " + ", ".join(f"{k} {v:,}" for k, v in s.rows_per_layer.items()))
    typer.echo(f"quarantined rows: {s.quarantined_rows:,}")
    typer.echo(f"checks: {s.checks['passed']} passed, {s.checks['failed']} failed, {s.checks['warned']} warned")
    for name in s.failed_checks:
        typer.echo(f"  check not passed: {name}")
    typer.echo(f"done in {time.perf_counter() - t0:.0f}s (Dagster runs {', '.join(s.run_ids)})")
    reload_only = [n for n in s.failed_checks if n.endswith(f":{AS_DELIVERED} (error)")]
    if not s.success or s.checks["failed"] > len(reload_only):
        raise fail(f"{s.failed_asset} failed: {s.failure}" if s.failed_asset else "checks failed")
    if reload_only:
        raise fail("a delivery was changed after its load (see the check's metadata): reload it with `onesource "
                   "ingest --reload SYSTEM/DELIVERY`", NEEDS_RELOAD)


def _lake_in_use(settings) -> bool:
    """Whether the platform's own lake holds anything (``onesource setup`` leaves an empty one, which nothing would
    miss); a lake that does not open (moved, damaged) is not taken for empty."""
    import duckdb

    from core import lake

    if not settings.lake_dir.exists():
        return False
    try:
        con = lake.connect(settings, read_only=True)
    except (duckdb.Error, RuntimeError):
        return True
    try:
        return bool(con.execute("select count(*) from duckdb_tables() where database_name = ?",
                                [lake.LAKE_ALIAS]).fetchone()[0])
    finally:
        con.close()


def demo(yes: Annotated[bool, typer.Option("--yes", "-y", help="Replace the lake under ONESOURCE_HOME without "
                                           "asking, when it holds data.")] = False) -> None:
    """Build the simulated demo city (`onesource-simulate demo` writes it) through Dagster on a fresh lake.

    A lake that already holds data is replaced only when you say so: at the prompt, or with --yes."""
    import shutil
    import sys

    from core import lake

    settings = get_settings()
    landing, truth = settings.landing_dir, settings.truth_dir
    if not (landing.is_dir() and (truth / "person_truth.csv").exists()):
        raise fail(f"no simulated city under {settings.home}: run `onesource-simulate demo` first (make demo "
                   "does both)", 2)
    if settings.catalog_dsn is None or settings.catalog_embedded:  # a new city on the platform's own lake
        if not yes and _lake_in_use(settings):
            if not sys.stdin.isatty():
                raise fail(f"the lake under {settings.home} holds data: `onesource demo --yes` replaces it", 2)
            if not typer.confirm(f"The lake under {settings.home} holds data. Replace it with the demo city?",
                                 default=False, err=True):
                raise fail("the lake is kept as it was", 1)
        lake.reset(settings)  # the lake (and its embedded catalog server) and the Dagster instance start empty
        if (settings.home / "dagster").exists():
            shutil.rmtree(settings.home / "dagster")
    build(landing=landing)
    print_quality(truth)
    typer.echo("the Dagster UI on this lake: .venv/bin/onesource ui   (dashboards: "
               f"{settings.home / 'dashboards' / 'index.html'})\n"
               "the consented-data API: .venv/bin/onesource serve   (docs at http://127.0.0.1:8000/docs; "
               "register a client with `onesource clients add`)")


def register(app: typer.Typer) -> None:
    for command in (ingest, link, refresh, publish, build, demo):
        app.command()(command)
