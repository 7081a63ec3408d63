"""What the command groups share: the console, the landing zone, lake connections as of a time."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.clock import JST
from core.settings import Settings, get_settings

console = Console(stderr=True)

LandingOption = Annotated[Path | None, typer.Option(help="Landing zone (default: ONESOURCE_HOME/landing).")]
NoExpectations = Annotated[bool, typer.Option("--no-expectations", help="Skip the Great Expectations suites.")]
AsOfRelease = Annotated[int | None, typer.Option("--release", help="As of this release (see `onesource releases`).")]
AsOfTime = Annotated[str | None, typer.Option("--at", help="As of the release current at this time "
                                               "(ISO 8601; JST when no offset is given).")]
AsOfSnapshot = Annotated[int | None, typer.Option("--snapshot", help="As of this lake snapshot.")]


@contextlib.contextmanager
def progress_bar(starting: str = "starting") -> Iterator[None]:
    """A bar on the terminal of where long work is (the refresh's stages, dbt's models), in place of their log
    lines; on anything but a terminal, nothing: what remains is the command's summary. The bar draws on a copy
    of the terminal's descriptor: Dagster points descriptors 1 and 2 at a step's log file while the step runs."""
    import os
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from core import progress

    if not sys.stderr.isatty():
        yield
        return
    terminal = open(os.dup(sys.stderr.fileno()), "w", encoding="utf-8")  # noqa: SIM115 - closed below
    bar = Progress(SpinnerColumn(), TextColumn("{task.description:<40.40}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(file=terminal, force_terminal=True), transient=True)
    task = bar.add_task(starting, total=None)

    def show(step: progress.Step) -> None:
        text = f"{step.task}: {step.detail}" if step.detail else step.task
        bar.update(task, description=text, completed=step.done or 0, total=step.total)

    try:
        with bar, progress.listening(show):
            yield
    finally:
        terminal.close()


# Exit statuses: what needs a person (docs/data-team.md). 0 all done; 1 a failure; 2 a usage error or something
# missing; 3 a server that is stopped (catalog status); NEEDS_RELOAD: the run went through, but a delivery was
# changed after its load and the lake still holds what was loaded (`onesource ingest --reload SYSTEM/DELIVERY`).
NEEDS_RELOAD = 4


def _finite(text: str, positive: bool) -> float:
    import math

    try:
        value = float(text)
    except (TypeError, ValueError):
        raise typer.BadParameter(f"{text[:20]!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise typer.BadParameter(f"{text[:20]!r}: a finite number {'above' if positive else 'of at least'} 0")
    return value


def positive_number(text: str) -> float:
    """A float option's parser: a finite number above 0 (``nan``, ``inf`` and negatives are usage errors)."""
    return _finite(text, positive=True)


def non_negative_number(text: str) -> float:
    """A float option's parser: a finite number of at least 0."""
    return _finite(text, positive=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def landing_dir(landing: Path | None, settings: Settings) -> Path:
    """The landing zone to read (default under ONESOURCE_HOME); exit 2 when it does not exist."""
    landing = landing or settings.landing_dir
    if not landing.is_dir():
        raise fail(f"landing zone {landing} does not exist", 2)
    return landing


def as_of_connection(release: int | None, at: str | None, snapshot: int | None):
    """A lake connection as of a release, a time (the release current then) or a snapshot; else now."""
    from core import lake
    from core.releases import resolve_snapshot

    settings = get_settings()
    con = lake.connect(settings, read_only=True)
    if release is None and at is None and snapshot is None:
        return con, None
    when = None
    if at is not None:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            con.close()
            raise fail(f"--at takes an ISO 8601 time such as 2026-11-03T09:00+09:00, not {at!r}", 2) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=JST)  # the city's own clock
    try:
        snap = resolve_snapshot(con, release=release, at=when, snapshot=snapshot)
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        con.close()
    return lake.connect(settings, snapshot_id=snap), snap
