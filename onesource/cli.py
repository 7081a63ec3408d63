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
    typer.echo(f"extensions in {ext_dir}; lake catalog {where}; data under {settings.lake_data_path}")


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


@app.command()
def demo(
    residents: Annotated[int, typer.Option(help="Residents of the demo city.")] = 5000,
    days: Annotated[int, typer.Option(help="Daily deltas.")] = 7,
) -> None:
    """Run the platform on the embedded default: simulate a city under ONESOURCE_HOME and report it."""
    import shutil

    settings = get_settings()
    landing, truth = settings.landing_dir, settings.truth_dir
    for d in (landing, truth):
        if d.exists():
            shutil.rmtree(d)
    simulate(landing=landing, truth=truth, residents=residents, days=days, seed=42, start=None, config=None,
             keiyaku_dsn=None)
    typer.echo(f"landing zone: {landing}\ntruth files:  {truth}")
    typer.echo("check it against the spec with: python ../shared/tools/validate_landing.py "
               f"{landing} {truth}")


if __name__ == "__main__":
    app()
