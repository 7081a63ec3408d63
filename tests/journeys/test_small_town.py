"""A small municipality's first build: every city size publishes; a floor of usefulness warns, never blocks.

The analysis zone's 丁目-detail floor (dbt test keeps_chome_detail) cannot be met by a town whose 丁目 are too
small to keep k persons in every cell: at 2,000 residents it failed the products stage, and with it the release.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.demo import BIN, fresh_env
from tests.support.paths import REPO


@pytest.mark.slow
@pytest.mark.parametrize("residents", [1000, 2000])
def test_a_small_town_builds_and_publishes_a_release(tmp_path, residents: int):
    env = fresh_env(tmp_path)
    sim = subprocess.run([str(BIN / "onesource-simulate"), "demo", "--residents", str(residents)], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert sim.returncode == 0, sim.stderr
    out = subprocess.run([str(BIN / "onesource"), "demo"], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=1800)
    said = out.stdout + out.stderr
    assert out.returncode == 0, said[-3000:]
    releases = subprocess.run([str(BIN / "onesource"), "releases"], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=300)
    assert releases.returncode == 0 and releases.stdout.startswith("release"), releases.stdout + releases.stderr
    assert re.search(r"checks: \d+ passed, 0 failed", said), said[-3000:]  # no blocking check failed: a utility floor the town cannot meet only warns
    floor = [line for line in said.splitlines() if "check not passed" in line and "keeps_chome_detail" in line]
    assert all(line.endswith("(warn)") for line in floor), floor
    # the open data and the dashboards of the town were published with the release
    assert (tmp_path / "home" / "opendata").is_dir() and (tmp_path / "home" / "dashboards" / "index.html").exists()
