"""The demo city as ``make demo`` builds it, and the README's commands on it: the installed console scripts, a
newcomer's environment, what a role is handed, ``onesource serve`` until it serves, a command's output read."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.paths import REPO, artifact
from tests.support.servers import free_port

BIN = Path(sys.executable).parent  # the venv's console scripts: onesource, onesource-simulate


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


def field(output: str, name: str) -> str:
    """The value of a ``name: value`` line of a command's output."""
    found = re.search(rf"^{name}:\s+(\S+)$", output, re.M)
    assert found, f"no {name} in:\n{output}"
    return found.group(1)


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


@contextlib.contextmanager
def served(demo: Demo, name: str) -> Iterator[str]:
    """``onesource serve --port P`` on the demo's home, until it serves the demo's release; yields its base URL."""
    port = free_port()
    proc = demo.popen("serve", "--port", str(port), log=artifact(f"{name}_serve.log"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"onesource serve exited {proc.returncode}: see {artifact(name + '_serve.log')}"
            try:
                if httpx.get(f"{base}/v1/status", timeout=5).json().get("release"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "onesource serve did not serve a release in 120 s"
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except Exception:  # noqa: BLE001 - a server that will not stop is killed
            proc.kill()
