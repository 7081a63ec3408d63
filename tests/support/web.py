"""The API and the workbench built on an empty platform home, for the web layer's tests: each app with a page
anyone may open, a form, and the checks of a refusal and of the headers every answer carries."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
WORKBENCH_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
                    "base-uri 'none'")


@dataclass
class App:
    kind: str  # api | workbench
    app: Starlette
    http: TestClient  # started: the app's lifespan runs, all its requests on one event loop
    page: str  # a page anyone may open
    form: str  # where a body is posted
    password: str = ""  # the workbench's operator "steward"

    def client_at(self, address: str) -> TestClient:
        """A client of the same app from another address (the socket's peer the guard counts)."""
        return TestClient(self.app, client=(address, 50000), follow_redirects=False)

    def bad_credentials(self, http: TestClient | None = None, headers: dict[str, str] | None = None,
                        operator: str = "steward"):
        """A request with wrong credentials: a malformed resident credential, a wrong password (for ``operator``)."""
        http, headers = http or self.http, headers or {}
        if self.kind == "api":
            return http.get("/v1/me/consents", headers={"Authorization": "Bearer osr_wrong", **headers})
        return http.post("/login", data=sign_in_form(http, operator, "wrong"), headers=headers)

    def refused(self, response, status: int, code: str) -> None:
        """``response`` is the app's refusal: ``status``, in the app's own kind of page, with the web layer's
        headers, no traceback."""
        assert response.status_code == status, (response.status_code, response.text[:300])
        assert_headers(self, response)
        assert response.headers["cache-control"] == "no-store"
        assert "Traceback" not in response.text and 'File "' not in response.text
        if self.kind == "api":
            assert response.headers["content-type"] == "application/json"
            assert response.json()["error"]["code"] == code
        else:
            assert response.headers["content-type"] == "text/html; charset=utf-8"
            assert response.text.startswith("<!doctype html>") and "名寄せ審査" in response.text


def sign_in_form(http: TestClient, operator: str, password: str) -> dict[str, str]:
    """The workbench's sign-in form as its page gives it: the client gets the form's CSRF token and its cookie."""
    page = http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    return {"operator": operator, "password": password, "csrf": token.group(1)}


def assert_headers(app: App, response) -> None:
    """The headers the web layer puts on every answer."""
    h = response.headers
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["content-security-policy"] == (API_POLICY if app.kind == "api" else WORKBENCH_POLICY)
    assert len(h["x-request-id"]) == 32


def build(kind: str, settings: Settings) -> Starlette:
    if kind == "api":
        from api.main import create_app

        return create_app(settings, watch=False)
    from workbench.app import create_app

    return create_app(settings)


@contextlib.contextmanager
def started(kind: str, settings: Settings):
    password = ""
    if kind == "workbench":
        from workbench.operators import add_operator

        password = add_operator(settings, "steward")
    app = build(kind, settings)
    page, form = ("/health", "/v1/me/consents") if kind == "api" else ("/login", "/login")
    with TestClient(app, follow_redirects=False) as http:
        yield App(kind, app, http, page, form, password)
