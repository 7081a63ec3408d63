"""Shared fixtures: a small simulated city, generated in the test (nothing generated is committed), built once
per session; a platform home of one test's own; a PostgreSQL database. The helpers tests call are in
``tests/support/``; a test takes these fixtures by name and never imports this module."""

from __future__ import annotations

import functools
import json
import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from simulator import SimConfig, simulate
from simulator.config import NoiseRates
from tests.support import pgcluster
from tests.support.lakes import build_lake, platform_at

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

# re-sends (3% per delivery) and borrowed keys (0.5-1% of the forms that carry one) are rare: the small city has
# more of them, so that every test city has some
SMALL_CITY = SimConfig(residents=4000, days=6, seed=7, min_daily_events=2.0,
                       noise=NoiseRates(resend=0.2, borrowed_houjin_keiyaku=0.1, borrowed_houjin_hojokin=0.1,
                                        borrowed_atena=0.05))


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


@functools.cache
def _postgres_down() -> str | None:
    try:
        psycopg.connect(PG_ADMIN_DSN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"PostgreSQL on 127.0.0.1:5432 is not reachable ({str(exc).strip().splitlines()[0]})"
    return None


def _browser_missing() -> str | None:
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return None
    return "headless Chromium is not installed (apt-get install chromium; make test installs it)"


NEEDS = {"postgres": _postgres_down, "browser": _browser_missing, "pgaudit": pgcluster.missing}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:  # a test that takes a PostgreSQL database needs the server, whether it says so or not
        if "pg_database" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop every embedded catalog server (the default catalog) that a test started under this session's
    temporary folders: the fixtures' lakes use SQLite, but a command run with a newcomer's environment (no
    ONESOURCE_ setting) gets the platform's own PostgreSQL server, which outlives the command by design."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        from core import catalog_server

        catalog_server.stop_all_under(factory.getbasetemp())


def pytest_runtest_setup(item) -> None:
    """A test that needs PostgreSQL or a browser skips, saying why, where they are missing; under CI
    (CI=true) it fails instead, so a green CI never hides a skipped suite."""
    for marker, missing in NEEDS.items():
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing()
        if reason:
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"CI needs this test to run: {reason}", pytrace=False)
            pytest.skip(reason)


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database on the local server, dropped afterwards (only the one it made)."""
    name = f"onesource_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
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
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    return h


@pytest.fixture(scope="session")
def built_city(city, tmp_path_factory) -> Path:
    """The small city ingested, linked and built into marts, in its own home, once per session: every module that
    reads the built city takes this one (read-mostly; a test that changes the lake builds its own)."""
    with platform_at(tmp_path_factory.mktemp("built")) as root:
        build_lake(city.landing)
    return root


@pytest.fixture
def city_home(built_city, monkeypatch) -> Path:
    """Point the settings at the built city's home for one test."""
    monkeypatch.setenv("ONESOURCE_HOME", str(built_city / "home"))
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(built_city / "keys"))
    monkeypatch.delenv("ONESOURCE_CATALOG_DSN", raising=False)
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    return built_city / "home"
