"""Shared fixtures: a small simulated city, generated in the test (nothing generated is committed)."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import psycopg
import pytest

from onesource.simulator import SimConfig, simulate

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

SMALL_CITY = SimConfig(residents=4000, days=6, seed=7, min_daily_events=2.0)


class City:
    def __init__(self, root: Path, config: SimConfig, summary) -> None:
        self.root, self.config, self.summary = root, config, summary
        self.landing, self.truth = root / "landing", root / "truth"
        self.manifest = json.loads((self.truth / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def city(tmp_path_factory) -> City:
    root = tmp_path_factory.mktemp("city")
    summary = simulate(root / "landing", root / "truth", SMALL_CITY)
    return City(root, SMALL_CITY, summary)


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database on the local server, dropped afterwards (only the one it made)."""
    name = f"onesource_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - CI starts the server
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An independent platform home for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("ONESOURCE_HOME", str(h))
    monkeypatch.delenv("ONESOURCE_CATALOG_DSN", raising=False)
    return h


def build_lake(landing: Path) -> None:
    """Ingest a landing zone and build the whole one source through the refresh sequence: staging, linkage,
    marts, open data, dashboards, a release."""
    from onesource.core.settings import get_settings
    from onesource.refresh import run_refresh

    run_refresh(get_settings(), landing, incremental=False, run_expectations=False, note="tests: build_lake")


@contextlib.contextmanager
def platform_at(root: Path):
    """Settings pointing at ``root/home`` (keys in ``root/keys``, embedded catalog) for a block of code."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESOURCE_HOME", str(root / "home"))
        mp.setenv("ONESOURCE_KEYS_DIR", str(root / "keys"))
        mp.delenv("ONESOURCE_CATALOG_DSN", raising=False)
        yield root


@pytest.fixture(scope="session")
def built_city(city, tmp_path_factory):
    """The small city ingested, linked and built into marts, in its own home (shared read-mostly)."""
    with platform_at(tmp_path_factory.mktemp("built")) as root:
        build_lake(city.landing)
    return root


@pytest.fixture
def city_home(built_city, monkeypatch) -> Path:
    """Point the settings at the built city's home for one test."""
    monkeypatch.setenv("ONESOURCE_HOME", str(built_city / "home"))
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(built_city / "keys"))
    monkeypatch.delenv("ONESOURCE_CATALOG_DSN", raising=False)
    return built_city / "home"
