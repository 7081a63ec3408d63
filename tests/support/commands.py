"""The command line in a subprocess, as a user runs it: ``onesource`` (or the simulator's) from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from tests.support.paths import REPO


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
