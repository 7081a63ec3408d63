"""Commands for the people who run the platform: setup, the Dagster UI, dbt, releases, queries, housekeeping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli._common import (
    AsOfRelease,
    AsOfSnapshot,
    AsOfTime,
    as_of_connection,
    fail,
    non_negative_number,
)
from core.settings import get_settings, mask_dsn


def setup() -> None:
    """Install the DuckDB extensions offline, create the lake under ONESOURCE_HOME, prepare dbt's manifest."""
    from core import lake
    from core.dbt import prepare_manifest

    settings = get_settings()
    ext_dir = lake.install_extensions(settings)
    lake.connect(settings).close()
    manifest = prepare_manifest(settings)
    where = mask_dsn(settings.catalog_dsn.get_secret_value()) if settings.catalog_dsn else settings.catalog_path
    typer.echo(f"extensions in {ext_dir}; lake catalog {where}; data under {settings.data_path_url}; "
               f"dbt manifest {manifest}")


def dbt(ctx: typer.Context) -> None:
    """Run dbt on the lake with the platform's settings, e.g. `onesource dbt build` or `onesource dbt docs generate`."""
    from core.dbt import run_dbt

    if not run_dbt(ctx.args or ["build"]).success:
        raise typer.Exit(1)


def ui(port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000,
       landing: Annotated[Path | None, typer.Option(help="Landing zone the sensors watch.")] = None) -> None:
    """Start the Dagster UI (webserver and daemon) on the platform's instance; Ctrl-C or SIGTERM stops it all."""
    from dagster_project import ui as dagster_ui

    settings = get_settings()
    landing = landing or settings.landing_dir
    typer.echo(f"Dagster UI on http://127.0.0.1:{port} (instance {settings.home / 'dagster'}, landing {landing})")
    code = dagster_ui.serve(port, settings, landing)
    raise typer.Exit(code if code > 128 else 0)


def releases() -> None:
    """The releases: lake snapshots in which a build of the marts was complete (what the API served)."""
    import duckdb

    from core import lake
    from core.releases import TABLE

    con = lake.connect(read_only=True)
    try:
        rows = con.execute(f"select release_id, snapshot_id, released_at, note from {TABLE} order by 1").fetchall()
    except duckdb.CatalogException:  # no releases table yet
        rows = []
    finally:
        con.close()
    for rid, snap, at, note in rows:
        typer.echo(f"release {rid:>4}  snapshot {snap:>6}  {at.isoformat()}  {note}")
    if not rows:
        typer.echo("no release yet: run `onesource refresh` (or a Dagster refresh)")


def query(sql: Annotated[str, typer.Argument(help="SQL over the lake (tables as lake.<schema>.<table>).")],
          release: AsOfRelease = None, at: AsOfTime = None, snapshot: AsOfSnapshot = None,
          csv_out: Annotated[bool, typer.Option("--csv", help="CSV on stdout instead of a table.")] = False) -> None:
    """Run read-only SQL on the lake now or as it was (time travel): `--release`, `--at` or `--snapshot`."""
    import csv
    import sys

    con, snap = as_of_connection(release, at, snapshot)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except Exception as exc:  # noqa: BLE001 - the analyst's SQL: say what DuckDB said
        raise fail(str(exc)) from None
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


def checksum(release: AsOfRelease = None, at: AsOfTime = None, snapshot: AsOfSnapshot = None,
             schema: Annotated[str, typer.Option(help="Schema whose tables to checksum.")] = "marts") -> None:
    """Rows and a row-level checksum of every mart (now or as of a release): equal means identical."""
    from core.releases import mart_checksums

    con, _snap = as_of_connection(release, at, snapshot)
    try:
        sums = mart_checksums(con, schema)
    finally:
        con.close()
    for name, (rows, digest) in sums.items():
        typer.echo(f"{name:<45} {rows:>10,}  {digest}")


def maintain(keep_days: Annotated[float | None, typer.Option(help="Keep the snapshots between releases this many "
                                                             "days (default: ONESOURCE_SNAPSHOT_KEEP_DAYS).",
                                                             parser=non_negative_number)] = None,
             dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be expired.")] = False,
             ) -> None:
    """Apply the lake's retention policy: keep every release, expire the snapshots between releases once
    older than the keep period, delete the files only they used, merge small files."""
    from core import lake
    from core.maintenance import maintain as run_maintenance

    settings = get_settings()
    con = lake.connect(settings)
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


def register(app: typer.Typer) -> None:
    for command in (setup, ui, releases, query, checksum, maintain):
        app.command()(command)
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(dbt)
