"""The throttles, on both apps alike: every request spends from its address's bucket; an address that failed to
sign in too often waits, right credentials or not; what the throttles remember is bounded; and the
workbench's password hashing leaves the event loop free."""

from __future__ import annotations

import threading

import pytest

from api.clients import register_client
from tests.support.web import sign_in_form, started


@pytest.mark.parametrize("kind", ["api", "workbench"])
def test_every_request_spends_from_its_address(kind, settings):
    with started(kind, settings.model_copy(update={"api_address_rate_per_second": 2.0})) as app:
        answers = [app.http.get(app.page) for _ in range(8)]
        assert [r.status_code for r in answers[:4]] == [200] * 4
        app.refused(answers[-1], 429, "rate_limited")
        assert int(answers[-1].headers["retry-after"]) >= 1
        assert app.client_at("192.0.2.7").get(app.page).status_code == 200  # another address has its own


def test_failed_sign_ins_are_throttled_alike(app):
    """The API allows 20 failed authentications at once, the workbench 5 failed sign-ins; then the address
    waits, and even the right credentials are refused before they are checked."""
    burst = 20 if app.kind == "api" else 5
    codes = [app.bad_credentials().status_code for _ in range(burst + 2)]
    assert codes[:burst] == [401] * burst and codes[burst:] == [429, 429], codes
    if app.kind == "api":
        _, key = register_client(app.app.state.ctx.store, "test", "department", "テスト課", ["jidou_teate"], 100.0, 100)
        right = app.http.get("/v1/persons/P000000001", params={"purpose": "jidou_teate"}, headers={"X-API-Key": key})
    else:
        right = app.http.post("/login", data=sign_in_form(app.http, "steward", app.password))
        assert "onesource_workbench=" not in right.headers.get("set-cookie", "")  # no session
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1
    # another address is not held back (on the workbench, for another name: the name "steward" is held too)
    assert app.bad_credentials(app.client_at("192.0.2.8"), operator="carol").status_code == 401


def test_the_failure_memory_is_bounded(app):
    """Failed sign-ins from ever new addresses do not grow what the app remembers past its limiter's bound
    (the workbench kept every failure's time per address, for ever)."""
    limiter = app.app.state.limiter
    limiter.max_buckets = 16
    for i in range(48):
        client = app.client_at(f"198.51.100.{i}")
        assert app.bad_credentials(client, operator=f"nobody{i}").status_code == 401
        assert len(limiter) <= limiter.max_buckets
    assert app.bad_credentials().status_code == 401  # and the app still answers


def test_a_sign_in_hashes_off_the_event_loop(settings, monkeypatch):
    """scrypt takes tens of milliseconds: while one sign-in hashes, the workbench answers other requests. The
    hash is held until a second request has been answered; on the event loop, that request would wait for it."""
    from workbench import operators

    real_hash, held = operators._hash, threading.Event()
    hashed_in: list[str] = []  # the thread a hash ran in
    released: list[bool] = []  # whether the test released it (not the timeout)

    def held_hash(password: str, salt: bytes) -> str:
        hashed_in.append(threading.current_thread().name)
        released.append(held.wait(30))
        return real_hash(password, salt)

    with started("workbench", settings) as app:
        monkeypatch.setattr(operators, "_hash", held_hash)
        signed_in, form = {}, sign_in_form(app.http, "steward", app.password)
        sign_in = threading.Thread(target=lambda: signed_in.update(r=app.http.post("/login", data=form)))
        sign_in.start()
        try:
            while not hashed_in and sign_in.is_alive():  # until the sign-in is hashing
                sign_in.join(0.01)
            assert app.http.get("/login").status_code == 200  # answered meanwhile
            assert app.http.get("/no/such/page").status_code == 404
        finally:
            held.set()
            sign_in.join(60)
    assert signed_in["r"].status_code == 303 and "onesource_workbench=" in signed_in["r"].headers["set-cookie"]
    assert released == [True], "the hash was released by the timeout, not by the second answer"
    assert hashed_in == ["AnyIO worker thread"]  # the thread pool's, not the event loop's
