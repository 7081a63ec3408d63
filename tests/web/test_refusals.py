"""Refusals, on both apps alike: the same status codes, JSON from the API and a page from the workbench, and
never a traceback or the input echoed, whatever was sent."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.routing import Route

from core.ids import make_my_number

NUMBER = make_my_number(27182818284)


def test_the_routings_refusals_have_the_same_status_on_both_apps(app):
    app.refused(app.http.get("/no/such/page"), 404, "not_found")
    if app.kind == "workbench":
        assert "そのページはありません" in app.http.get("/no/such/page").text
    r = app.http.put(app.page)
    app.refused(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]


def test_an_unexpected_error_is_a_refusal_not_a_traceback(app, caplog):
    """Whatever a handler raises, the answer is the app's 500 refusal with the web layer's headers; what the
    error said (here a 個人番号) is neither answered nor logged."""

    async def broken(request: Request):
        raise RuntimeError(f"no such person {NUMBER}")

    if app.kind == "api":
        app.app.add_api_route("/broken", broken)
    else:
        app.app.router.routes.append(Route("/broken", broken))
    caplog.set_level(logging.INFO)
    r = app.http.get("/broken")
    app.refused(r, 500, "internal_error")
    assert NUMBER not in r.text and "RuntimeError" not in r.text
    if app.kind == "workbench":
        assert "ページを表示できませんでした" in r.text
    logged = "\n".join(rec.getMessage() + (rec.exc_text or "") for rec in caplog.records)
    assert "unhandled RuntimeError on /broken" in logged and NUMBER not in logged
    assert app.http.get(app.page).status_code == 200  # and the app answers on


HOSTILE = ["/%00", "/../../keys/access_log.key", "/..%2F..%2Fetc%2Fpasswd", f"/{NUMBER}", "/\u202e",
           "/login%0d%0aSet-Cookie:%20x=1", "/queue?entity=' OR '1'='1", "/pair?entity=person&l=<script>&r=%ff",
           "/cluster?id=" + "9" * 4000, "/v1/persons/P000000001'--?purpose=${jndi:ldap://x}"]


BODIES = [b"\xff\xfe\x00garbage", b"&" * 60000, b"a=1&" * 3000, b"[" * 1000 + b"]" * 1000,
          ("operator=" + NUMBER + "&password=" + "x" * 1000).encode()]
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=x"]


def test_hostile_input_gets_no_server_error(app):
    for path in HOSTILE:
        for method in ("GET", "POST", "DELETE", "PATCH"):
            r = app.http.request(method, path)
            assert r.status_code < 500, (method, path, r.status_code, r.text[:300])
            assert "Traceback" not in r.text and "<script>" not in r.text
    for body in BODIES:
        for content_type in CONTENT_TYPES:
            r = app.http.post(app.form, content=body, headers={"Content-Type": content_type})
            assert r.status_code < 500, (body[:20], content_type, r.status_code, r.text[:300])
            assert "Traceback" not in r.text and NUMBER not in r.text
