"""The ``onesource`` command line."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from onesource.settings import get_settings, mask_dsn

app = typer.Typer(help="OneSource: the data platform of Ichikawa City (市川市, 122033).", no_args_is_help=True,
                  add_completion=False)
console = Console(stderr=True)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at INFO level.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command()
def setup() -> None:
    """Install the DuckDB extensions offline from their wheels and create the lake under ONESOURCE_HOME."""
    from onesource import lake

    settings = get_settings()
    ext_dir = lake.install_extensions(settings)
    con = lake.connect(settings)
    con.close()
    where = mask_dsn(settings.catalog_dsn.get_secret_value()) if settings.catalog_dsn else settings.catalog_path
    typer.echo(f"extensions in {ext_dir}; lake catalog {where}; data under {settings.data_path_url}")


@app.command()
def simulate(
    landing: Annotated[Path, typer.Option(help="Landing zone to write (must be new or empty).")],
    truth: Annotated[Path, typer.Option(help="Folder for the truth files and the manifest (outside the landing zone).")],
    residents: Annotated[int, typer.Option(help="Residents of the simulated city.")] = 2000,
    days: Annotated[int, typer.Option(help="Daily deltas after the initial full delivery.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives byte-identical output.")] = 42,
    start: Annotated[str | None, typer.Option(help="Date of the initial delivery, YYYY-MM-DD.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with simulator settings and noise rates.")] = None,
    keiyaku_dsn: Annotated[str | None, typer.Option(
        help="postgresql:// URL for the keiyaku database; default ONESOURCE_KEIYAKU_DSN, else a SQLite file.")] = None,
) -> None:
    """Simulate Ichikawa's departmental systems: a landing zone with an initial load and daily deltas."""
    from onesource.simulator import SimConfig, SimulationError
    from onesource.simulator import simulate as run

    overrides = {"residents": residents, "days": days, "seed": seed, "start": start}
    cfg = SimConfig.from_file(config, **overrides) if config else SimConfig(**{k: v for k, v in overrides.items() if v is not None})
    settings = get_settings()
    dsn = keiyaku_dsn or (settings.keiyaku_dsn.get_secret_value() if settings.keiyaku_dsn else None)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]simulate[/] {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("building the city", total=cfg.days + 2)
        try:
            summary = run(landing, truth, cfg, keiyaku_dsn=dsn,
                          on_step=lambda msg: progress.update(task, advance=1, description=msg))
        except SimulationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(summary.line() + f" in {time.perf_counter() - t0:.1f}s")


def _landing(landing: Path | None, settings) -> Path:
    """The landing zone to read (default under ONESOURCE_HOME); exit 2 when it does not exist."""
    landing = landing or settings.landing_dir
    if not landing.is_dir():
        typer.echo(f"error: landing zone {landing} does not exist", err=True)
        raise typer.Exit(2)
    return landing


@app.command()
def ingest(
    landing: Annotated[Path | None, typer.Option(help="Landing zone (default: ONESOURCE_HOME/landing).")] = None,
    system: Annotated[list[str] | None, typer.Option(help="Only these systems (repeatable).")] = None,
    no_expectations: Annotated[bool, typer.Option("--no-expectations", help="Skip the Great Expectations suites.")]
    = False,
) -> None:
    """Load every closed delivery not loaded yet; exit 1 naming any delivery that failed."""
    from rich.table import Table as RichTable

    from ingestion.pipeline import ingest as run

    settings = get_settings()
    landing = _landing(landing, settings)
    t0 = time.perf_counter()
    with console.status("ingesting") as status:
        report = run(landing, settings, systems=system or None, run_expectations=not no_expectations,
                     on_delivery=lambda d: status.update(f"ingesting: {d.system}/{d.delivery} {d.status}"))
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
    out.print(f"done in {time.perf_counter() - t0:.1f}s")
    if report.failed:
        for d in report.failed:
            typer.echo(f"error: delivery {d.system}/{d.delivery} failed: {d.error}", err=True)
        raise typer.Exit(1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context) -> None:
    """Run dbt on the lake with the platform's settings, e.g. `onesource dbt build` or `onesource dbt docs generate`."""
    from onesource.dbt import run_dbt

    result = run_dbt(ctx.args or ["build"])
    if not result.success:
        raise typer.Exit(1)


def _print_linkage(results: dict) -> None:
    for entity, (run_id, r) in results.items():
        typer.echo(f"{entity} linkage {run_id}: {r.records:,} records, {r.deterministic_edges:,} deterministic "
                   f"edges, {r.scored_pairs:,} scored pairs, {r.probabilistic_links:,} links, "
                   f"{r.blocked_by_guard:,} blocked by the guard, {r.review_pairs:,} to review, "
                   f"{r.clusters:,} {'businesses' if entity == 'business' else 'persons'} in {r.seconds}s")


def _refresh(landing: Path | None, incremental: bool, note: str, run_expectations: bool = True):
    from onesource.refresh import RefreshFailed, run_refresh

    settings = get_settings()
    try:
        report = run_refresh(settings, landing, incremental=incremental, run_expectations=run_expectations,
                             note=note, on_stage=lambda name, s: typer.echo(f"stage {name} {s:.1f}s"))
    except RefreshFailed as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _print_linkage(report.linkage)
    typer.echo(f"release {report.release.release_id}: snapshot {report.release.snapshot_id}")
    typer.echo(f"refreshed in {sum(s for _n, s in report.stages):.1f}s")
    return settings


IncrementalOption = Annotated[bool, typer.Option(
    "--incremental/--full-relink", help="Link only new and changed records onto the known clusters with the last "
    "full run's model (a daily refresh), or re-train and re-cluster every record.")]


@app.command()
def link(
    truth: Annotated[Path | None, typer.Option(help="Truth folder: also report pairwise precision/recall.")] = None,
    incremental: Annotated[bool, typer.Option("--incremental", help="Link only new and changed records onto the "
                                              "known clusters with the last full run's model (a daily refresh).")]
    = False,
) -> None:
    """Build staging, link persons and businesses (stable ids, review queue), build the marts, release."""
    settings = _refresh(None, incremental, "onesource link")
    if truth is not None:
        from identity.quality import pairwise
        from onesource import lake

        con = lake.connect(settings)
        for entity in ("person", "business"):
            q = pairwise(con, truth / f"{entity}_truth.csv", entity)
            typer.echo(f"{entity} quality vs {truth.name}: precision {q.precision:.4f}, recall {q.recall:.4f}, "
                       f"F1 {q.f1:.4f} ({q.records_scored:,} records)")


@app.command()
def refresh(
    landing: Annotated[Path | None, typer.Option(help="Landing zone (default: ONESOURCE_HOME/landing).")] = None,
    incremental: IncrementalOption = True,
    no_expectations: Annotated[bool, typer.Option("--no-expectations", help="Skip the Great Expectations suites.")]
    = False,
) -> None:
    """The daily refresh in one process: ingest new deliveries, staging, linkage, marts, a release."""
    _refresh(_landing(landing, get_settings()), incremental, "onesource refresh", not no_expectations)


@app.command()
def publish(
    out: Annotated[Path | None, typer.Option(help="Folder for opendata/ and dashboards/ (default ONESOURCE_HOME).")]
    = None,
) -> None:
    """Write the open-data files with their DCAT catalog, and the dashboards, from the marts."""
    from onesource import lake
    from publish import dashboards, opendata

    settings = get_settings()
    out = out or settings.home
    con = lake.connect(settings)
    try:
        files = opendata.publish(con, out / "opendata")
        pages = dashboards.build(con, out / "dashboards")
    finally:
        con.close()
    _release("onesource publish")
    for name, path in {**files, **pages}.items():
        typer.echo(f"{name}: {path}")


@app.command()
def build(
    landing: Annotated[Path | None, typer.Option(help="Landing zone (default: ONESOURCE_HOME/landing).")] = None,
) -> None:
    """Run the whole asset graph in-process (ingest, dbt, linkage, marts, open data, dashboards), no UI."""
    from dagster_project.build import run_build

    settings = get_settings()
    landing = _landing(landing, settings)
    t0 = time.perf_counter()
    s = run_build(landing)
    typer.echo("rows per layer: " + ", ".join(f"{k} {v:,}" for k, v in s.rows_per_layer.items()))
    typer.echo(f"quarantined rows: {s.quarantined_rows:,}")
    typer.echo(f"checks: {s.checks['passed']} passed, {s.checks['failed']} failed, {s.checks['warned']} warned")
    for name in s.failed_checks:
        typer.echo(f"  check not passed: {name}")
    typer.echo(f"done in {time.perf_counter() - t0:.0f}s")
    if not s.success or s.checks["failed"]:
        if s.failed_asset:
            typer.echo(f"error: {s.failed_asset} failed: {s.failure}", err=True)
        else:
            typer.echo("error: blocking checks failed", err=True)
        raise typer.Exit(1)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
    landing: Annotated[Path | None, typer.Option(help="Landing zone the sensors watch.")] = None,
) -> None:
    """Start the Dagster UI (webserver and daemon) on the embedded default; Ctrl-C stops it."""
    import os
    import subprocess

    from dagster_project import ui as dagster_ui

    settings = get_settings()
    landing = landing or settings.landing_dir
    typer.echo(f"Dagster UI on http://127.0.0.1:{port} (instance {settings.home / 'dagster'}, landing {landing})")
    proc = subprocess.Popen(dagster_ui.command(port), env=dagster_ui.env(settings, landing), start_new_session=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        dagster_ui.stop(proc)
    finally:
        if proc.poll() is None:
            dagster_ui.stop(proc)
    raise typer.Exit(proc.returncode or 0) if os.environ.get("ONESOURCE_UI_STRICT") else typer.Exit(0)


def _release(note: str) -> None:
    """Record the lake's snapshot as a release: the marts in it are complete (the API serves releases)."""
    from onesource import lake
    from onesource.releases import mark_release

    con = lake.connect()
    try:
        rel = mark_release(con, note)
    finally:
        con.close()
    typer.echo(f"release {rel.release_id}: snapshot {rel.snapshot_id}")


export_app = typer.Typer(help="Export files for outside use.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("xref")
def export_xref(out: Annotated[Path, typer.Option(help="Folder for person_source_xref.csv and "
                                                     "business_source_xref.csv.")]) -> None:
    """Write the cross-reference tables (source_system, source_record_key, person_id / business_id) as CSV."""
    from identity.run import export_xref as run
    from onesource import lake

    con = lake.connect(read_only=True)
    counts = run(con, out)
    typer.echo(", ".join(f"{k}_source_xref.csv: {v:,} rows" for k, v in counts.items()) + f" in {out}")


review_app = typer.Typer(help="The clerical review queue of doubtful pairs.", no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="CSV: unique_id_l, unique_id_r, decision (match|no_match), "
                                              "reviewer, note.")],
    entity: Annotated[str, typer.Option(help="person or business.")] = "person",
) -> None:
    """Record reviewers' decisions; they override the model on every later `onesource link`."""
    from identity.run import import_decisions
    from onesource import lake

    con = lake.connect()
    try:
        n = import_decisions(con, file, entity)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{n} decisions recorded for {entity} linkage; run `onesource link` to apply them")


@app.command()
def demo(
    residents: Annotated[int, typer.Option(help="Residents of the demo city.")] = 5000,
    days: Annotated[int, typer.Option(help="Daily deltas.")] = 7,
) -> None:
    """Run the platform on the embedded default: simulate a city, load it, link it into the one source."""
    import shutil

    settings = get_settings()
    landing, truth = settings.landing_dir, settings.truth_dir
    for d in (landing, truth):
        if d.exists():
            shutil.rmtree(d)
    if settings.catalog_dsn is None and settings.lake_dir.exists():
        shutil.rmtree(settings.lake_dir)  # a new city: the embedded lake starts empty
    simulate(landing=landing, truth=truth, residents=residents, days=days, seed=42, start=None, config=None,
             keiyaku_dsn=None)
    typer.echo(f"landing zone: {landing}\ntruth files:  {truth}")
    try:
        ingest(landing=landing, system=None, no_expectations=False)
    except typer.Exit as exc:
        if exc.exit_code:
            raise
    link(truth=truth, incremental=False)
    publish(out=None)
    typer.echo("the Dagster UI on this lake: .venv/bin/onesource ui   (dashboards: "
               f"{settings.home / 'dashboards' / 'index.html'})\n"
               "the consented-data API: .venv/bin/onesource serve   (docs at http://127.0.0.1:8000/docs; "
               "register a client with `onesource clients add`)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each keeps the served release in memory).")] = 1,
) -> None:
    """Run the consented-data API (OpenAPI docs at /docs) on the lake's newest release."""
    import uvicorn

    logging.getLogger("onesource.api.access").setLevel(logging.INFO)
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, access_log=False,
                log_level="info", loop="uvloop", http="httptools")


clients_app = typer.Typer(help="API clients (departments and private services) and their purposes.",
                          no_args_is_help=True)
app.add_typer(clients_app, name="clients")


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Argument(help="Name of the system or service.")],
    kind: Annotated[str, typer.Option(help="department or private.")] = "department",
    organisation: Annotated[str, typer.Option(help="Department (所管課) or company.")] = "",
    purpose: Annotated[list[str], typer.Option(help="Purpose id it may use (repeat).")] = [],  # noqa: B006
    rate: Annotated[float | None, typer.Option(help="Requests per second it may sustain.")] = None,
    burst: Annotated[int | None, typer.Option(help="Requests it may send at once above the rate.")] = None,
) -> None:
    """Register a client bound to purposes; prints its API key once (only its hash is kept)."""
    from api.clients import RegistrationError, register_client
    from api.store import Store

    settings = get_settings()
    store = Store.from_settings(settings)
    store.create_schema()
    try:
        client, key = register_client(store, name, kind, organisation or name, purpose,
                                      rate or settings.api_rate_per_second, burst or settings.api_rate_burst)
    except RegistrationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.close()
    typer.echo(f"client_id: {client.client_id}\napi_key:   {key}\n(the key is shown only now; keep it secret)")


@clients_app.command("revoke")
def clients_revoke(client_id: Annotated[str, typer.Argument(help="The client to revoke.")]) -> None:
    """Revoke a client: its key stops working on the next request."""
    from api.clients import revoke_client
    from api.store import Store

    store = Store.from_settings()
    store.create_schema()
    try:
        found = revoke_client(store, client_id)
    finally:
        store.close()
    if not found:
        typer.echo(f"error: no client {client_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"client {client_id} revoked")


@clients_app.command("list")
def clients_list() -> None:
    """The registered clients and their purposes."""
    from api.clients import list_clients
    from api.store import Store

    store = Store.from_settings()
    store.create_schema()
    try:
        for c in list_clients(store):
            state = f"revoked {c['revoked_at']}" if c["revoked_at"] else "active"
            typer.echo(f"{c['client_id']}  {c['kind']:<10} {c['name']} ({c['organisation']})  {state}  "
                       f"purposes: {', '.join(c['purposes']) or '-'}")
    finally:
        store.close()


residents_app = typer.Typer(help="Resident credentials (what the portal holds once a person signed in).",
                            no_args_is_help=True)
app.add_typer(residents_app, name="residents")


@residents_app.command("credential")
def residents_credential(
    person_id: Annotated[str, typer.Argument(help="The person (P + 9 digits).")],
    hours: Annotated[float, typer.Option(help="Validity in hours.")] = 1.0,
) -> None:
    """Issue a resident credential for one person (stands in for the マイナンバーカード sign-in)."""
    import datetime as dt
    import re

    from api.clients import issue_resident_credential
    from api.store import Store

    if not re.fullmatch(r"P[0-9]{9}", person_id):
        typer.echo("error: a person id is P followed by 9 digits", err=True)
        raise typer.Exit(2)
    store = Store.from_settings()
    store.create_schema()
    try:
        _, token = issue_resident_credential(store, person_id, dt.timedelta(hours=hours))
    finally:
        store.close()
    typer.echo(token)


accesslog_app = typer.Typer(help="The hash-chained access log of the API.", no_args_is_help=True)
app.add_typer(accesslog_app, name="accesslog")


@accesslog_app.command("verify")
def accesslog_verify() -> None:
    """Verify the whole chain; names the first entry that was edited, inserted or deleted (exit 1)."""
    from api.accesslog import load_log_key, verify
    from api.store import Store

    settings = get_settings()
    store = Store.from_settings(settings)
    store.create_schema()
    try:
        result = verify(store, load_log_key(settings))
    finally:
        store.close()
    if not result.ok:
        typer.echo(f"access log BROKEN: {result.message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"access log OK: {result.message}")


def _as_of_connection(release: int | None, at: str | None, snapshot: int | None):
    """A lake connection as of a release, a time (the release current then) or a snapshot; else now."""
    import datetime as dt

    from onesource import lake
    from onesource.releases import resolve_snapshot

    settings = get_settings()
    con = lake.connect(settings, read_only=True)
    if release is None and at is None and snapshot is None:
        return con, None
    when = None
    if at is not None:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            typer.echo(f"error: --at takes an ISO 8601 time such as 2026-11-03T09:00+09:00, not {at!r}", err=True)
            raise typer.Exit(2) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=9)))  # the city's own clock
    try:
        snap = resolve_snapshot(con, release=release, at=when, snapshot=snapshot)
    except ValueError as exc:
        con.close()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    con.close()
    return lake.connect(settings, snapshot_id=snap), snap


AsOfRelease = Annotated[int | None, typer.Option("--release", help="As of this release (see `onesource releases`).")]
AsOfTime = Annotated[str | None, typer.Option("--at", help="As of the release current at this time "
                                               "(ISO 8601; JST when no offset is given).")]
AsOfSnapshot = Annotated[int | None, typer.Option("--snapshot", help="As of this lake snapshot.")]


@app.command()
def releases() -> None:
    """The releases: lake snapshots in which a build of the marts was complete (what the API served)."""
    from onesource import lake
    from onesource.releases import TABLE

    con = lake.connect(read_only=True)
    try:
        rows = con.execute(f"select release_id, snapshot_id, released_at, note from {TABLE} order by 1").fetchall()
    except Exception:  # noqa: BLE001 - no releases table yet
        rows = []
    finally:
        con.close()
    for rid, snap, at, note in rows:
        typer.echo(f"release {rid:>4}  snapshot {snap:>6}  {at.isoformat()}  {note}")
    if not rows:
        typer.echo("no release yet: run `onesource link` (or a Dagster refresh)")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over the lake (tables as lake.<schema>.<table>).")],
    release: AsOfRelease = None, at: AsOfTime = None, snapshot: AsOfSnapshot = None,
    csv_out: Annotated[bool, typer.Option("--csv", help="CSV on stdout instead of a table.")] = False,
) -> None:
    """Run read-only SQL on the lake now or as it was (time travel): `--release`, `--at` or `--snapshot`."""
    import csv
    import sys

    con, snap = _as_of_connection(release, at, snapshot)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except Exception as exc:  # noqa: BLE001 - the analyst's SQL: say what DuckDB said
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        con.close()
    if csv_out:
        w = csv.writer(sys.stdout)
        w.writerow(names)
        w.writerows(rows)
        return
    from rich.table import Table as RichTable

    table = RichTable(*names, title=f"as of snapshot {snap}" if snap is not None else None)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    Console(width=200).print(table)


@app.command()
def checksum(
    release: AsOfRelease = None, at: AsOfTime = None, snapshot: AsOfSnapshot = None,
    schema: Annotated[str, typer.Option(help="Schema whose tables to checksum.")] = "marts",
) -> None:
    """Rows and a row-level checksum of every mart (now or as of a release): equal means identical."""
    from onesource.releases import mart_checksums

    con, snap = _as_of_connection(release, at, snapshot)
    try:
        sums = mart_checksums(con, schema)
    finally:
        con.close()
    for name, (rows, digest) in sums.items():
        typer.echo(f"{name:<45} {rows:>10,}  {digest}")


@app.command()
def maintain(
    keep_days: Annotated[float | None, typer.Option(help="Keep the snapshots between releases this many days "
                                                         "(default: ONESOURCE_SNAPSHOT_KEEP_DAYS).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be expired.")] = False,
) -> None:
    """Apply the lake's retention policy: keep every release, expire the snapshots between releases once
    older than the keep period, delete the files only they used, merge small files."""
    from onesource import lake
    from onesource.maintenance import maintain as run_maintenance

    settings = get_settings()
    con = lake.connect()
    try:
        report = run_maintenance(con, settings.snapshot_keep_days if keep_days is None else keep_days, dry_run)
    finally:
        con.close()
    verb = "would expire" if dry_run else "expired"
    typer.echo(f"{report.snapshots_before} snapshots; {verb} {len(report.expired)} between releases; "
               f"every release kept")
    if not dry_run:
        typer.echo(f"files deleted {report.files_deleted}, merged {report.files_merged}; data "
                   f"{report.bytes_before / 2**20:,.1f} MB -> {report.bytes_after / 2**20:,.1f} MB")


if __name__ == "__main__":
    app()
