"""Test lakes: the platform pointed at a folder, a landing zone built into its lake, a landing zone's first days."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def platform_at(root: Path, catalog_dsn: str | None = None, **settings: str) -> Iterator[Path]:
    """Settings pointing at ``root/home`` (keys in ``root/keys``) for a block of code: the SQLite catalog, or the
    catalog at ``catalog_dsn``; ``settings`` are other ONESOURCE_ settings by name (``data_path=...``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESOURCE_HOME", str(root / "home"))
        mp.setenv("ONESOURCE_KEYS_DIR", str(root / "keys"))
        if catalog_dsn is None:
            mp.delenv("ONESOURCE_CATALOG_DSN", raising=False)
            mp.setenv("ONESOURCE_CATALOG", "sqlite")
        else:
            mp.setenv("ONESOURCE_CATALOG_DSN", catalog_dsn)
        for name, value in settings.items():
            mp.setenv(f"ONESOURCE_{name.upper()}", value)
        yield root


def build_lake(landing: Path) -> None:
    """Ingest a landing zone and build the whole one source through the refresh sequence: staging, linkage,
    marts, open data, dashboards, a release."""
    from core.settings import get_settings
    from refresh.sequence import run_refresh

    run_refresh(get_settings(), landing, incremental=False, run_expectations=False, note="tests: build_lake")


def first_days(landing: Path, dest: Path, n: int) -> None:
    """The initial delivery and the first ``n`` daily deltas of every file-based system, copied to ``dest``."""
    for system in landing.iterdir():
        days = sorted(p for p in system.iterdir() if p.is_dir() and p.name.isdigit())
        if not days:
            shutil.copytree(system, dest / system.name)
            continue
        for day in days[: n + 1]:
            shutil.copytree(day, dest / system.name / day.name)
