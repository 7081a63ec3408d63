"""What a developer needs from the API itself: documentation pages that load nothing from elsewhere, errors
that name the catalog's purposes, request ids that the log keeps whole, and the headers every answer carries."""

from __future__ import annotations

import base64
import hashlib
import logging
import re

import pytest

from api.catalog import load_catalog
from api.clients import RegistrationError, register_client
from core.ids import my_number_check_digit
from core.masking import PlatformId, install_log_scrubbing, mask_my_numbers

PURPOSES = [p.id for p in load_catalog().purposes]


def _passing_request_id() -> str:
    """A request id as the platform makes them (32 hex digits) whose 12 decimal digits pass the 個人番号 check."""
    eleven = "31415926535"
    rid = f"ab{eleven}{my_number_check_digit(eleven)}cdef0123456789abcdef"[:32]
    assert mask_my_numbers(rid) != rid  # as free text it would be masked
    return rid


# documentation pages --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "asset"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_the_documentation_pages_load_only_the_apis_own_assets(api, path, asset):
    page = api.http.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/docs/assets/") for s in sources), sources
    assert "http" not in html.replace("/openapi.json", "")  # no CDN, no font service
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "http" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]  # scripts by hash only
    for script in re.findall(r"<script>(.*?)</script>", html, re.S):  # each inline script is allowed by its hash
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    served = api.http.get(f"/docs/assets/{asset}")
    assert served.status_code == 200 and len(served.content) > 100_000
    assert "javascript" in served.headers["content-type"]


def test_every_answer_carries_the_security_headers(api):
    for path in ("/health", "/v1/purposes", "/openapi.json", "/v1/nowhere"):
        r = api.http.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["content-security-policy"].startswith("default-src 'none'"), path
    assert "script-src" not in api.http.get("/v1/purposes").headers["content-security-policy"]  # JSON runs nothing


# purposes named where a developer meets them -----------------------------------------------------------------

def test_an_unknown_purpose_is_answered_with_the_catalogs_ids(api, people):
    _, headers = api.client(purposes=("jidou_teate",))
    r = api.http.get(f"/v1/persons/{people['parent']}", params={"purpose": "jidou"}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_purpose"
    assert all(pid in r.json()["error"]["message"] for pid in PURPOSES)
    r = api.http.get(f"/v1/persons/{people['parent']}", params={"purpose": "jumin_zei_fuka"}, headers=headers)
    assert r.status_code == 403 and "jidou_teate" in r.json()["error"]["message"]  # the purposes it does have
    with pytest.raises(RegistrationError) as refused:
        register_client(api.store, "typo", "department", "テスト課", ["jidou"], 10.0, 10)
    assert all(pid in str(refused.value) for pid in PURPOSES)


def test_a_consent_to_an_unknown_recipient_says_what_the_recipient_is(api, people):
    me = api.resident(people["parent"])
    r = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho", "recipient": "abcdefghijkl"},
                      headers=me)
    assert r.status_code == 400 and "client_id" in r.json()["error"]["message"]
    r = api.http.post("/v1/me/consents", json={"purpose_id": "jidou_teate", "recipient": "abcdefghijkl"}, headers=me)
    assert r.status_code == 400 and "honnin_kakunin_jusho" in r.json()["error"]["message"]


# request ids -----------------------------------------------------------------------------------------------

def test_a_request_id_that_passes_the_check_digit_is_logged_whole_and_a_value_is_still_masked(caplog):
    install_log_scrubbing()
    caplog.set_level(logging.INFO)
    rid = _passing_request_id()
    number = rid[2:14]
    log = logging.getLogger("onesource.api.access")
    log.info("%s %s %s %.1fms %s", "GET", f"/v1/persons/{number}", 404, 1.0, PlatformId(rid))
    log.info("value %s then %s", number, PlatformId(rid))
    log.info("as text %s", rid)  # a value from outside that looks like one is masked as before
    first, second, third = (r.getMessage() for r in caplog.records if r.name == "onesource.api.access")
    assert first.endswith(f" {rid}") and f"/v1/persons/{number}" not in first
    assert second == f"value {'*' * 12} then {rid}"
    assert rid not in third and number not in third
    for forged in ("ab cd", "x\nFAKE", "P" * 65, ""):
        with pytest.raises(ValueError):
            PlatformId(forged)


def test_the_request_log_keeps_the_platforms_request_id(api, people, caplog, monkeypatch):
    rid = _passing_request_id()
    monkeypatch.setattr("web.requestlog.new_request_id", lambda: rid)
    caplog.set_level(logging.INFO, logger="onesource.api.access")
    _, headers = api.client()
    r = api.http.get(f"/v1/persons/{people['parent']}", params={"purpose": "jidou_teate"}, headers=headers)
    assert r.status_code == 200 and r.headers["x-request-id"] == rid
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "onesource.api.access"]
    assert any(line.startswith("GET /v1/persons/{person_id} 200 ") and line.endswith(f" {rid}") for line in lines)
    assert api.store.one("select request_id from access_log order by seq desc limit 1")[0] == rid
