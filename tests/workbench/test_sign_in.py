"""Who may use the workbench, and for how long: a session ends with its operator (removed or reset), the sign-in
form cannot be posted from another site, a guesser is slowed without locking the steward out, and no redirect
is built from the Host header. On the workbench as it is built, through Starlette's test client."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.web import sign_in_form, started
from workbench.operators import add_operator, remove_operator


@pytest.fixture
def bench(home, tmp_path, monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    with started("workbench", get_settings()) as app:
        yield app


def _signed_in(http: TestClient, operator: str, password: str):
    answer = http.post("/login", data=sign_in_form(http, operator, password))
    assert answer.status_code == 303 and answer.headers["location"] == "queue?entity=person", answer.text[:300]
    return answer


def _let_in(http: TestClient) -> bool:
    """Whether the client's session opens a page of the workbench (not the way to the sign-in)."""
    answer = http.get("/queue?entity=person")
    return not (answer.status_code == 303 and answer.headers["location"] == "login")


def test_a_removed_or_reset_operator_is_out_at_the_next_request(bench):
    from core.settings import get_settings

    settings = get_settings()
    bob = add_operator(settings, "bob")
    browser = bench.client_at("192.0.2.10")
    _signed_in(browser, "bob", bob)
    assert _let_in(browser)
    remove_operator(settings, "bob")
    assert not _let_in(browser)  # at once, not at the workbench's next restart
    bob = add_operator(settings, "bob")  # back again: the old session does not come back with him
    assert not _let_in(browser)
    _signed_in(browser, "bob", bob)
    assert _let_in(browser)
    add_operator(settings, "bob")  # a reset: the password changed, the session opened with the old one ends
    assert not _let_in(browser)
    # and a decision posted with the ended session is not recorded: it is sent to the sign-in
    answer = browser.post("/decide", data={"entity": "person", "l": "a", "r": "b", "decision": "different"})
    assert answer.status_code == 303 and answer.headers["location"] == "login"


def test_the_sign_in_form_cannot_be_posted_from_elsewhere(bench):
    """Login CSRF: a page of another site posting the steward's form would sign the browser in as the attacker.
    The form carries a token of its own SameSite cookie; without both, the right password is refused."""
    plain = {"operator": "steward", "password": bench.password}
    answer = bench.http.post("/login", data=plain)
    assert answer.status_code == 403 and "onesource_workbench=" not in answer.headers.get("set-cookie", "")
    other = bench.client_at("192.0.2.11")
    forged = {**plain, "csrf": sign_in_form(other, "steward", "x")["csrf"]}  # a token of another browser
    answer = bench.client_at("192.0.2.12").post("/login", data=forged)
    assert answer.status_code == 403 and "onesource_workbench=" not in answer.headers.get("set-cookie", "")
    assert 'name="csrf"' in answer.text  # the page offers a fresh form
    _signed_in(bench.http, "steward", bench.password)


def test_a_guesser_is_slowed_and_the_steward_is_not_locked_out(bench):
    """Behind the city's proxy every steward has one address; a guesser rotating addresses still meets the
    operator's name's bound, and the steward's browser, which signed in before, still gets in."""
    steward = bench.client_at("192.0.2.20")
    _signed_in(steward, "steward", bench.password)
    steward.post("/logout", data={"csrf": _csrf_of(steward)})
    codes = []
    for i in range(8):
        guesser = bench.client_at(f"198.51.100.{i}")
        codes.append(guesser.post("/login", data=sign_in_form(guesser, "steward", f"guess{i}")).status_code)
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes  # every new address meets the name's bound
    # a browser that never signed in as steward waits too, the right password or not
    stranger = bench.client_at("192.0.2.21")
    assert stranger.post("/login", data=sign_in_form(stranger, "steward", bench.password)).status_code == 429
    # the steward's own browser has its device cookie: its attempts count against it alone
    _signed_in(steward, "steward", bench.password)
    # and the device cookie is no key to another operator's name
    from core.settings import get_settings

    add_operator(get_settings(), "carol")
    for i in range(5):
        assert steward.post("/login", data=sign_in_form(steward, "carol", f"guess{i}")).status_code == 401
    assert steward.post("/login", data=sign_in_form(steward, "carol", "guess")).status_code == 429


def _csrf_of(http: TestClient) -> str:
    import re

    page = http.get("/queue?entity=person")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def test_no_redirect_is_built_from_the_host_header(bench):
    """Starlette's trailing-slash redirect answered ``/queue/`` with a 307 to the Host header's site, which re-posts
    a form (its CSRF token included) there. Every redirect the workbench gives is its own, relative, not cached."""
    for method in ("GET", "POST"):
        answer = bench.http.request(method, "/queue/", headers={"Host": "evil.example"})
        assert answer.status_code in (404, 405) and "location" not in answer.headers, (method, answer.status_code)
        assert "evil.example" not in answer.text
    answer = bench.http.get("/queue?entity=person", headers={"Host": "evil.example"})
    assert answer.status_code == 303 and answer.headers["location"] == "login"
    assert answer.headers["cache-control"] == "no-store"
