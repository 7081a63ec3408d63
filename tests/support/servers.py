"""Servers a test starts: a port to give them, whether they answer, the process group they run in."""

from __future__ import annotations

import os
import socket
import subprocess
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
