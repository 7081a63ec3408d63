"""Crash recovery: a build SIGKILLed during ingestion, during linkage and during the marts, then run again,
ends with marts identical (row-level checksums) to an uninterrupted build, with no duplicate or lost rows."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from core import lake
from core.faults import ENV
from core.releases import mart_checksums
from tests.support.commands import run_cli
from tests.support.lakes import platform_at

pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict, fault: str | None = None) -> subprocess.CompletedProcess:
    run_env = {**env, ENV: fault} if fault else env
    return run_cli(*args, env=run_env, timeout=1200)


def _state(root) -> tuple[dict, dict]:
    with platform_at(root):
        con = lake.connect(read_only=True)
        marts = mart_checksums(con)
        bronze = {t: n for t, (n, _) in mart_checksums(con, "bronze").items()}
        con.close()
    return marts, bronze


def test_killed_at_three_stages_then_rerun_equals_an_uninterrupted_build(city, tmp_path):
    # the SQLite catalog, as _state reads it (platform_at): the lake's own recovery, whichever catalog holds it
    base = {**os.environ, "ONESOURCE_KEYS_DIR": str(tmp_path / "keys"), "ONESOURCE_CATALOG": "sqlite"}
    base.pop("ONESOURCE_CATALOG_DSN", None)
    ingest = ["ingest", "--landing", str(city.landing), "--no-expectations"]

    clean = {**base, "ONESOURCE_HOME": str(tmp_path / "clean" / "home")}
    for args in (ingest, ["link"]):
        done = _run(args, clean)
        assert done.returncode == 0, done.stderr[-3000:]

    crashed = {**base, "ONESOURCE_HOME": str(tmp_path / "crashed" / "home")}
    third_day = sorted(p.name for p in (city.landing / "juki").iterdir() if p.name.isdigit())[3]
    steps = [(ingest, f"ingest:juki/{third_day}"), (ingest, None),      # killed before a delivery's commit
             (["link"], "link:person"),                                  # killed between the linkages
             (["link"], "dbt:dim_person"),                               # killed while dbt builds the marts
             (["link"], None)]
    for args, fault in steps:
        done = _run(args, crashed, fault)
        if fault:
            assert done.returncode == -signal.SIGKILL, (fault, done.returncode, done.stderr[-2000:])
        else:
            assert done.returncode == 0, done.stderr[-3000:]

    clean_marts, clean_bronze = _state(tmp_path / "clean")
    crashed_marts, crashed_bronze = _state(tmp_path / "crashed")
    assert crashed_bronze == clean_bronze  # no duplicate and no lost rows in the lake
    assert set(crashed_marts) == set(clean_marts) and len(clean_marts) > 15
    differing = {k: (clean_marts[k], crashed_marts[k]) for k in clean_marts if clean_marts[k] != crashed_marts[k]}
    assert not differing, differing
