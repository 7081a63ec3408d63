"""Servers a test starts: a port to give them, whether they answer, the process group they run in, and an app served
by a real uvicorn in a thread of the test process (what `onesource workbench serve` runs, without the process)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    """Whether a GET of ``url`` gets a response that is not an error (a server up and serving)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def child_group(pid: int) -> int | None:
    """The process group of the first child of ``pid`` (``onesource ui`` runs ``dagster dev`` in one of its own)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    return os.getpgid(int(out[0])) if out else None


def group_members(pgid: int) -> list[str]:
    """The live processes of a group, one ``ps`` line each (a zombie only waits for its parent)."""
    out = subprocess.run(["ps", "-eo", "pgid=,pid=,stat=,args="], capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines()
            if line.split()[0] == str(pgid) and not line.split()[2].startswith("Z")]


@contextlib.contextmanager
def serving_cli(*args: str, env: dict, log_path, ready, timeout: float = 90):
    """``onesource ARGS`` as a server in a session of its own, its output in ``log_path``, until the block
    ends; ``ready()`` tells when it serves (the test fails with the log if it never does). Yields the process."""
    import pytest

    from tests.support.commands import popen_cli

    with open(log_path, "w") as log:
        proc = popen_cli(*args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _ready(ready):
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(open(log_path).read())
            time.sleep(0.3)
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _ready(ready) -> bool:
    import httpx

    try:
        return bool(ready())
    except (OSError, httpx.HTTPError):
        return False


@contextlib.contextmanager
def serving(app, refusals=None):
    """``app`` on ``http://127.0.0.1:PORT/`` until the block ends, served as the CLI serves it (the bounded
    protocol of :mod:`web.server`, refusing in the form of ``refusals``: the API's JSON unless given); yields
    the base URL."""
    import uvicorn

    from core.settings import get_settings
    from web.refusals import JSON
    from web.server import server_config

    refusals = refusals or JSON
    port = free_port()
    server = uvicorn.Server(server_config(app, get_settings(), host="127.0.0.1", port=port, refusals=refusals,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
