"""Journeys: each audience's first hour, as the README tells it, on one fresh home.

The demo city is made once per session exactly as a newcomer makes it: ``onesource-simulate demo`` then
``onesource demo`` (the part of ``make demo`` after the install), through the installed console scripts, in a
home of its own with nothing set but ``ONESOURCE_HOME`` and the keys folder. Every journey then walks its
audience's path on that home (the fixtures ``demo`` and ``built_demo``; the helpers journeys call are in
``tests/support/demo.py`` and ``tests/support/browser.py``). Screenshots go to ``$ONESOURCE_ARTIFACTS/journeys``
(default ``artifacts/journeys`` in the repository, git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.demo import BIN, Demo, fresh_env
from tests.support.paths import REPO, artifact


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """``onesource-simulate demo`` and ``onesource demo``, as ``make demo`` runs them, on a fresh home; the
    home's catalog server (which outlives a command by design) is stopped when the session ends."""
    d = _demo(tmp_path_factory)
    yield d
    d.run("catalog", "stop", timeout=120)


def _demo(tmp_path_factory) -> Demo:
    reuse = os.environ.get("ONESOURCE_JOURNEY_REUSE")  # a developer's shortcut: a root built by an earlier run
    if reuse and (Path(reuse) / "demo.txt").exists():
        root = Path(reuse)
        rc, seconds, output = (root / "demo.txt").read_text(encoding="utf-8").split("\n", 2)
        env = fresh_env(root)
        if os.environ.get("ONESOURCE_CATALOG"):  # a root built with another catalog than today's default
            env["ONESOURCE_CATALOG"] = os.environ["ONESOURCE_CATALOG"]
        return Demo(root, root / "home", env, "", output, int(rc), float(seconds))
    root = Path(reuse) if reuse else tmp_path_factory.mktemp("journey")
    root.mkdir(parents=True, exist_ok=True)
    env = fresh_env(root)
    sim = subprocess.run([str(BIN / "onesource-simulate"), "demo"], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=900)
    assert sim.returncode == 0, sim.stdout + sim.stderr
    t0 = time.perf_counter()
    out = subprocess.run([str(BIN / "onesource"), "demo"], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=1800)
    seconds = time.perf_counter() - t0
    artifact("demo_output.txt").write_text(out.stdout + "\n--- stderr ---\n" + out.stderr, encoding="utf-8")
    (root / "demo.txt").write_text(f"{out.returncode}\n{seconds}\n{out.stdout + out.stderr}", encoding="utf-8")
    return Demo(root, root / "home", env, sim.stdout + sim.stderr, out.stdout + out.stderr, out.returncode, seconds)


@pytest.fixture(scope="session")
def built_demo(demo) -> Demo:
    """The demo city, which must have built (a journey that needs it fails here, saying why, if it did not)."""
    assert demo.returncode == 0, f"onesource demo exited {demo.returncode}:\n{demo.output[-4000:]}"
    return demo
