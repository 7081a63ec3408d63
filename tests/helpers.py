"""Helpers the tests share: the command line in a subprocess, waiting for a condition."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: Mapping[str, str] | None = None, timeout: float = 900,
            module: str = "cli") -> subprocess.CompletedProcess:
    """``onesource ARGS`` (or another module's command line) in a new process, output captured as text."""
    return subprocess.run([sys.executable, "-m", module, *args], env=dict(env if env is not None else os.environ),
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def popen_cli(*args: str, env: Mapping[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """``onesource ARGS`` started in the background (a server, a concurrent writer)."""
    return subprocess.Popen([sys.executable, "-m", "cli", *args],
                            env=dict(env if env is not None else os.environ), cwd=REPO, **kwargs)


def simulate_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``onesource-simulate city ARGS``: the simulator's own command line."""
    return run_cli("city", *args, env=env, module="simulator")


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll ``condition`` until it holds; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"{what} did not hold within {timeout:g}s")
