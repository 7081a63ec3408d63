"""Journeys: each audience's first hour, as the README tells it, on one fresh home.

The demo city is made once per session exactly as a newcomer makes it: ``onesource-simulate demo`` then
``onesource demo`` (the part of ``make demo`` after the install), through the installed console scripts, in a
home of its own with nothing set but ``ONESOURCE_HOME`` and the keys folder. Every journey then walks its
audience's path on that home. Screenshots go to ``$ONESOURCE_ARTIFACTS/journeys`` (default ``artifacts/journeys``
in the repository, git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ONESOURCE_ARTIFACTS", str(REPO / "artifacts"))) / "journeys"
BIN = Path(sys.executable).parent


def chromium() -> str:
    """Debian's Chromium (make test installs it)."""
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


# the flags a headless Chromium needs on a closed network (no background connections, no sandbox as root)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


@dataclass
class Demo:
    """The demo city built by the README's commands, and how to run the README's other commands on it."""

    root: Path
    home: Path
    env: dict[str, str]
    simulate_output: str
    output: str
    returncode: int
    seconds: float

    def run(self, *args: str, timeout: float = 900, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """``.venv/bin/onesource ARGS`` as a user types it, on the demo's home."""
        return subprocess.run([str(BIN / "onesource"), *args], env={**self.env, **(env or {})}, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout, input=input)

    def popen(self, *args: str, log: Path | None = None, env: dict[str, str] | None = None,
              **kwargs) -> subprocess.Popen:
        """``.venv/bin/onesource ARGS`` in the background (a server), its output to ``log``."""
        out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen([str(BIN / "onesource"), *args], env={**self.env, **(env or {})}, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, **kwargs)


def fresh_env(root: Path) -> dict[str, str]:
    """A newcomer's environment: the home and the keys folder, no other ONESOURCE_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONESOURCE_", "PG"))}  # libpq's too
    env.update(ONESOURCE_HOME=str(root / "home"), ONESOURCE_KEYS_DIR=str(root / "keys"))
    env.pop("DAGSTER_HOME", None)
    return env


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


def under_heading(output: str, heading: str) -> list[str]:
    """The lines under a ``# heading`` of a command's output (``access connect``), up to the next blank line."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"# {heading}"))
    block = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        block.append(line)
    return block


def role_way_in(demo: Demo, role: str) -> tuple[str, str]:
    """What a role is handed: its password from the data team (``access credentials issue``) and the connection
    text of ``access connect ROLE``."""
    issued = demo.run("access", "credentials", "issue", role, timeout=300)
    assert issued.returncode == 0, issued.stderr
    password = issued.stdout.strip().splitlines()[-1]
    how = demo.run("access", "connect", role, timeout=300)
    assert how.returncode == 0, how.stderr  # on 3ec09ac: exit 2, "single-operator mode"
    assert password not in how.stdout
    return password, how.stdout


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
