"""``onesource-simulate``: the simulated city, a tool for tests, benchmarks and the demo.

No platform module imports the simulator; it needs the ``simulator`` extra (Faker).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from core.settings import get_settings

app = typer.Typer(help="Simulate Ichikawa's departmental systems (a landing zone with truth files).",
                  no_args_is_help=True, add_completion=False, context_settings={"max_content_width": 120},
                  rich_markup_mode=None)  # help as click wraps it: no type column, sentences not broken


def _simulate(landing: Path, truth: Path, residents: int, days: int, seed: int, start: str | None,
              config: Path | None, keiyaku_dsn: str | None) -> None:
    from simulator import SimConfig, SimulationError, simulate

    overrides = {"residents": residents, "days": days, "seed": seed, "start": start}
    cfg = SimConfig.from_file(config, **overrides) if config else SimConfig(
        **{k: v for k, v in overrides.items() if v is not None})
    settings = get_settings()
    dsn = keiyaku_dsn or (settings.keiyaku_dsn.get_secret_value() if settings.keiyaku_dsn else None)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]simulate[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=Console(stderr=True),
                  transient=True) as progress:
        task = progress.add_task("building the city", total=cfg.days + 2)
        try:
            summary = simulate(landing, truth, cfg, keiyaku_dsn=dsn,
                               on_step=lambda msg: progress.update(task, advance=1, description=msg))
        except SimulationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(summary.line() + f" in {time.perf_counter() - t0:.1f}s")


@app.command()
def city(
    landing: Annotated[Path, typer.Option(help="Landing zone to write (must be new or empty).")],
    truth: Annotated[Path, typer.Option(help="Folder for the truth files and the manifest (outside the landing "
                                              "zone).")],
    residents: Annotated[int, typer.Option(help="Residents of the simulated city.")] = 2000,
    days: Annotated[int, typer.Option(help="Daily deltas after the initial full delivery.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives byte-identical output.")] = 42,
    start: Annotated[str | None, typer.Option(help="Date of the initial delivery, YYYY-MM-DD.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with simulator settings and noise rates.")] = None,
    keiyaku_dsn: Annotated[str | None, typer.Option(
        help="postgresql:// URL for the keiyaku database; default ONESOURCE_KEIYAKU_DSN, else a SQLite file.")] = None,
) -> None:
    """A landing zone with an initial load and daily deltas, and its truth files."""
    _simulate(landing, truth, residents, days, seed, start, config, keiyaku_dsn)


@app.command()
def demo(
    residents: Annotated[int, typer.Option(help="Residents of the demo city.")] = 5000,
    days: Annotated[int, typer.Option(help="Daily deltas.")] = 7,
) -> None:
    """The demo city under ONESOURCE_HOME (landing/ and truth/, replacing any earlier one)."""
    settings = get_settings()
    landing, truth = settings.landing_dir, settings.truth_dir
    for d in (landing, truth):
        if d.exists():
            shutil.rmtree(d)
    _simulate(landing, truth, residents, days, 42, None, None, None)
    typer.echo(f"landing zone: {landing}\ntruth files:  {truth}")


if __name__ == "__main__":
    app()
