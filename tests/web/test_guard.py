"""Limits before work, on both apps alike: the request target, the headers' number and size, the body declared
and sent; the security and cache headers on every answer."""

from __future__ import annotations

import asyncio
import socket
import urllib.parse

import pytest

from tests.support.servers import serving
from tests.support.web import assert_headers, build

HUGE = str(200 * 1024 * 1024)


def test_limits_before_work_refuse_alike_on_both_apps(app):
    http, page, form = app.http, app.page, app.form
    app.refused(http.get(page, headers={"X-Filler": "a" * 20000}), 431, "headers_too_large")
    app.refused(http.get(page, headers={f"X-Filler-{i}": "a" for i in range(150)}), 431, "headers_too_large")
    app.refused(http.get(page + "?q=" + "a" * 9000), 414, "uri_too_long")
    app.refused(http.post(form, content=b"{}", headers={"Content-Length": HUGE}), 413, "body_too_large")
    app.refused(http.post(form, content=b"a" * 70000), 413, "body_too_large")
    app.refused(http.post(form, content=b"{}", headers={"Content-Length": "two"}), 400, "bad_request")
    # just under every limit, the same requests reach the app
    assert http.get(page, headers={f"X-Filler-{i}": "a" for i in range(80)}).status_code == 200
    assert http.get(page + "?q=" + "a" * 8000).status_code == 200


def test_the_limits_come_before_the_credentials(app):
    """A request over a limit is refused before its credentials are looked at: the right password does not
    open a session, no wrong one counts as a failure."""
    if app.kind == "api":
        r = app.http.post("/v1/me/consents", content=b"[" * 1000 + b"]" * 1000,
                          headers={"Content-Type": "application/json"})
        app.refused(r, 422, "invalid_request")  # nested too deep: before the missing credential's 401
    else:
        r = app.http.post("/login", data={"operator": "steward", "password": app.password},
                          headers={"X-Filler": "a" * 20000})
        app.refused(r, 431, "headers_too_large")
        assert "set-cookie" not in r.headers
    for _ in range(30):  # more than either app lets an address fail
        app.refused(app.bad_credentials(headers={"X-Filler": "a" * 20000}), 431, "headers_too_large")
    assert app.bad_credentials().status_code == 401  # none of the refused ones counted as a failed sign-in


@pytest.mark.parametrize("kind", ["api", "workbench"])
def test_a_streamed_body_stops_being_read_past_the_limit(kind, settings):
    """Each app as the server drives it: the chunks of a body sent without a length stop being read just past
    the limit, and the app is never reached."""
    app = build(kind, settings)
    read, sent = [0], []

    async def receive():
        read[0] += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": read[0] < 1000}  # 64 MB in all

    async def send(message):
        sent.append(message)

    path = b"/v1/me/consents" if kind == "api" else b"/login"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path.decode(), "raw_path": path, "query_string": b"", "root_path": "",
             "client": ("192.0.2.1", 5000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"transfer-encoding", b"chunked")]}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert read[0] <= 2


def test_a_real_workbench_server_refuses_before_reading(settings):
    """As the API's real server does (tests/api/test_serve.py): a body far over the limit, declared, is refused
    at once and the connection closed; too many headers, the same; the server answers on."""
    from workbench.app import REFUSALS, create_app

    with serving(create_app(settings), REFUSALS) as base:
        host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: %s\r\n\r\noperator=" % HUGE.encode())
            answer = sock.recv(4096)  # answered at once, while 200 MB are still "to come"
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"connection: close" in answer.lower() and b"x-frame-options: DENY" in answer
        with socket.create_connection((host, port), timeout=10) as sock:
            filler = b"".join(b"X-Filler-%d: a\r\n" % i for i in range(150))
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n" + filler + b"\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 431")
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")


def test_every_answer_carries_the_security_headers_and_none_is_cached(app):
    for r in (app.http.get(app.page), app.http.get("/no/such/page"), app.bad_credentials(),
              app.http.get(app.page, headers={"X-Filler": "a" * 20000})):
        assert_headers(app, r)
        assert r.headers["cache-control"] == ("public, max-age=300" if r.status_code == 200 and app.kind == "api"
                                              else "no-store")
    if app.kind == "workbench":  # the redirect to the sign-in too, with a relative location
        r = app.http.get("/queue?entity=person", headers={"Host": "evil.example"})
        assert r.status_code == 303 and r.headers["location"] == "login"
        assert_headers(app, r)
        assert r.headers["cache-control"] == "no-store"
