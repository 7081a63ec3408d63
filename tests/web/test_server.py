"""The server under both apps (web/server.py), really started as `onesource serve` and `onesource workbench serve`:
a huge header costs the process no memory, trickling clients are cut off, and uvicorn's internals are the ones
the bounded protocol was checked against."""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from tests.support import pins
from tests.support.commands import run_cli
from tests.support.servers import free_port, serving_cli
from web import server

HEADER_MB = 100
TRICKLERS = 20


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture(params=["api", "workbench"])
def served(request, settings, tmp_path):
    """One app as its command serves it, on a free port of an empty home: (base URL, pid, a path to POST to, a path to GET)."""
    env = {**os.environ, "ONESOURCE_CATALOG": "sqlite"}
    port = free_port()
    if request.param == "api":
        args, probe, post = ("serve", "--port", str(port)), "/health", "/v1/me/consents"
    else:
        added = run_cli("workbench", "operator", "add", "steward", env=env, timeout=120)
        assert added.returncode == 0, added.stderr
        args, probe, post = ("workbench", "serve", "--port", str(port)), "/login", "/login"
    base = f"http://127.0.0.1:{port}"
    with serving_cli(*args, env=env, log_path=tmp_path / "serve.log",
                     ready=lambda: httpx.get(base + probe, timeout=2).status_code == 200) as proc:
        yield base, proc.pid, post, probe


class Peak(threading.Thread):
    """The highest resident memory of a process while the block runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, _rss_kib(pid), threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> Peak:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.join()


def _huge_header(port: int) -> bytes:
    """A 100 MB header sent as fast as the server takes it; what the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * (1 << 16)
        try:
            for _ in range(HEADER_MB * 16):
                sock.sendall(chunk)
        except OSError:
            pass  # the server closed the connection: what it said is still to be read
        try:
            return sock.recv(4096)
        except OSError:
            return b""


def test_a_100_mb_header_costs_the_server_no_memory(served):
    """The header limit ran after the server had buffered the whole head: one 210 MB header raised the API's
    memory by 272 MB before its 431, and the workbench answered a 21 MB header 200. Now the head is counted as
    it arrives and refused at its limit, in the app's own form."""
    base, pid, _, probe = served
    port = int(base.rsplit(":", 1)[1])
    before = _rss_kib(pid)
    with Peak(pid) as peak:
        answer = _huge_header(port)
    grown_mb = (peak.peak - before) / 1024
    assert grown_mb < 32, f"the server grew by {grown_mb:.0f} MB"
    assert answer.startswith(b"HTTP/1.1 431"), answer[:300]
    assert b"no-store" in answer and b"x-frame-options: DENY" in answer
    assert httpx.get(base + probe, timeout=5).status_code == 200  # and it serves on


def _trickle(port: int, request: bytes, closed: list, started: float) -> None:
    """Send ``request`` then one byte a second until the server answers or closes; when that happened."""
    sel = selectors.DefaultSelector()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        sel.register(sock, selectors.EVENT_READ)
        said = b""
        while time.monotonic() - started < 45:
            if sel.select(timeout=1.0):
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                said += data
                if not data:
                    break
                continue
            try:
                sock.sendall(b"a")
            except OSError:
                break
        closed.append((time.monotonic() - started, said[:20]))


def test_trickling_requests_are_cut_off_within_30_seconds(served):
    """Requests that started and then trickled (a header, or a declared body, at a byte every few seconds)
    were never timed out: 60 of 60 connections were still open after 40 s. Each is now closed when its head
    or its body is late, with a 408, and the server answers others meanwhile."""
    base, _pid, post, probe = served
    port = int(base.rsplit(":", 1)[1])
    heads = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
    bodies = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Content-Length: 1000\r\n\r\n" % post.encode())
    closed: list = []
    started = time.monotonic()
    threads = [threading.Thread(target=_trickle, args=(port, heads if i % 2 else bodies, closed, started))
               for i in range(TRICKLERS)]
    for t in threads:
        t.start()
    time.sleep(3)
    assert httpx.get(base + probe, timeout=5).status_code == 200  # the others are served while they trickle
    for t in threads:
        t.join(60)
    assert len(closed) == TRICKLERS
    late = [c for c in closed if c[0] >= 30]
    assert not late, late
    assert all(said.startswith(b"HTTP/1.1 408") for _, said in closed), closed


def test_the_bounds_refuse_in_the_apps_form_and_leave_what_the_guard_takes_to_the_guard(served):
    """Past the wire's bounds the server answers itself (414, 431) in the app's form; just under them a request
    reaches the app's guard, which answers in its own words."""
    base, _pid, _post, probe = served
    with httpx.Client(timeout=10) as client:
        too_many = client.get(base + probe, headers={f"x-h{i}": "1" for i in range(150)})
        assert too_many.status_code == 431 and too_many.headers["cache-control"] == "no-store"
        assert too_many.headers["content-type"].split(";")[0] in ("application/json", "text/html")
        long = client.get(base + probe + "?q=" + "a" * 10_000)
        assert long.status_code == 414
        guard = client.get(base + probe, headers={"x-big": "a" * 16_500})  # over the guard's, under the wire's
        assert guard.status_code == 431 and guard.headers["content-type"] == too_many.headers["content-type"]
        assert client.get(base + probe, headers={"x-fine": "a" * 8_000}).status_code == 200


def test_the_uvicorn_internals_are_the_ones_checked():
    """web/server.py subclasses uvicorn's httptools protocol: a bump of uvicorn or httptools makes this fail,
    saying what to re-check (the module's docstring lists what it relies on)."""
    assert not pins.drift(server.CHECKED_AGAINST), pins.drift(server.CHECKED_AGAINST)
    for name in ("data_received", "on_message_begin", "on_url", "on_header", "on_headers_complete",
                 "on_message_complete", "connection_made", "connection_lost", "_unset_keepalive_if_required",
                 "send_400_response", "_unsupported_upgrade_warning"):
        assert callable(getattr(HttpToolsProtocol, name, None)), f"HttpToolsProtocol.{name} is gone"
    cycle = RequestResponseCycle.__init__.__code__.co_names
    for name in ("response_started", "response_complete", "disconnected", "message_event"):
        assert name in cycle, f"RequestResponseCycle no longer sets {name}"
