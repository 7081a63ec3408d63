"""What the command groups share: the console, the landing zone, lake connections as of a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from onesource.core.settings import Settings, get_settings

console = Console(stderr=True)

LandingOption = Annotated[Path | None, typer.Option(help="Landing zone (default: ONESOURCE_HOME/landing).")]
NoExpectations = Annotated[bool, typer.Option("--no-expectations", help="Skip the Great Expectations suites.")]
AsOfRelease = Annotated[int | None, typer.Option("--release", help="As of this release (see `onesource releases`).")]
AsOfTime = Annotated[str | None, typer.Option("--at", help="As of the release current at this time "
                                               "(ISO 8601; JST when no offset is given).")]
AsOfSnapshot = Annotated[int | None, typer.Option("--snapshot", help="As of this lake snapshot.")]


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
    from onesource.core import lake
    from onesource.core.releases import resolve_snapshot

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
            when = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=9)))  # the city's own clock
    try:
        snap = resolve_snapshot(con, release=release, at=when, snapshot=snapshot)
    except ValueError as exc:
        raise fail(str(exc)) from None
    finally:
        con.close()
    return lake.connect(settings, snapshot_id=snap), snap
