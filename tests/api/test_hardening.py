"""What a hostile client found (issue 16, the API): limits before any work, per-address limits that a
forwarded-for header cannot dodge, nothing personal or forged in a log line, no 5xx for odd dates, purpose
limits in what an answer implies, one live consent per purpose and recipient, bounded and revocable resident
credentials, who did it in a household member's log, and headers that keep personal data out of caches."""

from __future__ import annotations

import json
import logging
import re

import pytest

from api.clients import RegistrationError, issue_resident_credential, register_client
from core.ids import make_my_number
from core.masking import install_log_scrubbing, loggable, mask_my_numbers
from web.throttle import RateLimiter

NUMBER = make_my_number(31415926535)
SPELLINGS = [NUMBER, f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}", f"{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}",
             "".join(chr(ord(c) + 0xFEE0) for c in NUMBER), f"77{NUMBER}01", f"{NUMBER[:6]}\u3000{NUMBER[6:]}"]


# limits before work ------------------------------------------------------------------------------------

def test_a_huge_declared_body_is_refused_before_it_is_read(api):
    r = api.http.post("/v1/me/consents", content=b"{}", headers={"Content-Length": str(200 * 1024 * 1024),
                                                                 "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"


def test_a_streamed_body_is_cut_off_at_the_limit():
    """The guard as the server drives it: chunks of a body without a length stop being read past the limit."""
    import asyncio

    from core.settings import Settings
    from web.guard import Guard, Limits
    from web.refusals import JSON

    reached, read, sent = [], [0], []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    async def receive():
        read[0] += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": read[0] < 1000}  # 64 MB in all

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/me/consents", "raw_path": b"/v1/me/consents",
             "query_string": b"", "client": ("192.0.2.1", 5000),
             "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]}
    guard = Guard(app, Limits.of(Settings(), json=True), RateLimiter(), JSON, "default-src 'none'")
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 413 and not reached
    assert read[0] <= 2  # the server stopped reading just past the limit


def test_headers_and_json_depth_are_bounded_before_authentication(api):
    r = api.http.get("/v1/me/consents", headers={"X-Filler": "a" * 20000})
    assert r.status_code == 431
    deep = b"[" * 1000 + b"]" * 1000
    r = api.http.post("/v1/me/consents", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "nested" in r.json()["error"]["message"]
    assert r.status_code != 401  # refused before the missing credential was even looked at


def test_failed_authentication_is_limited_per_address_before_credentials_are_checked(api, people):
    _, good = api.client()
    url, params = f"/v1/persons/{people['parent']}", {"purpose": "jidou_teate"}
    codes = [api.http.get(url, params=params, headers={"X-API-Key": f"osk_aaaaaaaaaaaa_{'x' * 43}",
                                                       "X-Forwarded-For": f"10.0.0.{i}"}).status_code
             for i in range(30)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}  # a fresh forwarded-for buys nothing
    r = api.http.get(url, params=params, headers=good)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1  # the right key waits too


def test_every_request_spends_from_its_address_before_any_work(published_city, tmp_path, monkeypatch):
    from tests.support.api import running_api

    monkeypatch.setenv("ONESOURCE_HOME", str(published_city / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")  # the test cities' lakes keep the SQLite catalog
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(tmp_path / "api.sqlite"))
    monkeypatch.setenv("ONESOURCE_API_ADDRESS_RATE_PER_SECOND", "2")
    with running_api() as a:
        codes = [a.http.get("/v1/purposes").status_code for _ in range(8)]
    assert codes[:4] == [200] * 4 and codes[-1] == 429


def test_rate_limit_buckets_expire(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("web.throttle.time.monotonic", lambda: clock[0])
    limiter = RateLimiter(max_buckets=1000, prune_every=10)
    for i in range(5000):
        limiter.take(f"addr:{i}", 10.0, 20)
    assert len(limiter) <= 1000  # a flood of fresh addresses cannot grow the table without bound
    clock[0] += 10  # long enough for every bucket to refill
    for i in range(10):
        limiter.take(f"late:{i}", 10.0, 20)
    assert len(limiter) <= 10


# nothing personal, nothing forged in a log ----------------------------------------------------------------

def test_every_spelling_of_a_my_number_is_masked_and_a_corporate_number_kept():
    for text in SPELLINGS:
        masked = mask_my_numbers(f"id={text};")
        assert not re.search(r"\d{4}", masked.replace("77", "").replace("01", "")), (text, masked)
    assert mask_my_numbers("法人番号 5835678256246") == "法人番号 5835678256246"
    assert mask_my_numbers("2026-12-04T10:00:00+09:00 047-334-1111") == "2026-12-04T10:00:00+09:00 047-334-1111"
    assert loggable("a\r\nFAKE 200") == "a\\x0d\\x0aFAKE 200"


def test_request_log_names_the_route_not_what_was_sent(api, people, caplog):
    caplog.set_level(logging.INFO, logger="onesource.api.access")
    _, headers = api.client()
    for text in SPELLINGS:
        api.http.get(f"/v1/persons/{text}", params={"purpose": "jidou_teate", "q": text}, headers=headers)
    api.http.get("/v1/persons/P000000001%0d%0aGET%20/forged%20200", headers=headers)
    api.http.get(f"/v1/nowhere/{NUMBER}")
    lines = [r.getMessage() for r in caplog.records if r.name == "onesource.api.access"]
    assert len(lines) >= len(SPELLINGS) + 2
    text = "\n".join(lines)
    assert "/v1/persons/{person_id}" in text and "(unmatched)" in text
    assert "forged" not in text and all("\n" not in line and "\r" not in line for line in lines)
    digits = re.sub(r"\D", "", mask_my_numbers(text))
    assert NUMBER not in digits and NUMBER not in re.sub(r"\D", "", text)


def test_any_logger_of_the_process_is_scrubbed(caplog):
    install_log_scrubbing()
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").warning("got %s", f"{SPELLINGS[1]}\nFAKE line")
    try:
        raise ValueError(f"bad value {SPELLINGS[2]}")
    except ValueError:
        logging.getLogger("some.library").exception("failed")
    records = [r for r in caplog.records if r.name == "some.library"]
    assert "\n" not in records[0].getMessage() and "5926" not in records[0].getMessage()
    assert "5926" not in (records[1].exc_text or "") and "bad value" in records[1].exc_text


# no 5xx for any date -------------------------------------------------------------------------------------

@pytest.mark.parametrize("expires", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
                                     "2026-02-30T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_consent_expiry_out_of_range_is_422_not_500(api, people, expires):
    client_id, _ = api.client(purposes=("honnin_kakunin_jusho",), kind="private", organisation="株式会社テスト")
    me = api.resident(people["parent"])
    r = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho", "recipient": client_id,
                                               "expires_at": expires}, headers=me)
    assert r.status_code == 422, r.text
    assert expires not in r.text  # errors do not echo what was sent


# purpose limits hold in what an answer implies ------------------------------------------------------------

def test_an_attachment_is_looked_up_only_under_a_purpose_that_releases_its_basis(api, people):
    client_id, headers = api.client(purposes=("hojokin_shinsei",), kind="private", organisation="株式会社テスト")
    answers = {}
    for pid in (people["parent"], people["others"][0]):
        me = api.resident(pid)
        assert api.http.post("/v1/me/consents", json={"purpose_id": "hojokin_shinsei", "recipient": client_id},
                             headers=me).status_code == 201
        r = api.http.get("/v1/procedures/hojokin_kojin_shinsei/prefill", params={"person_id": pid}, headers=headers)
        assert r.status_code == 200, r.text
        answers[pid] = [a for a in r.json()["attachments"] if a["name"] == "住民票の写し"][0]
        logged = json.loads(api.log_rows(pid)[-1][5])
        assert "status" not in logged  # not used, not logged
    assert all(a["required"] for a in answers.values())
    assert len({json.dumps(a, ensure_ascii=False) for a in answers.values()}) == 1  # the same for everyone
    # under a purpose that releases the status, the lookup happens and is logged as used
    _, dept = api.client(purposes=("jidou_teate",))
    r = api.http.get("/v1/procedures/jidou_teate_nintei_seikyu/prefill", params={"person_id": people["parent"]},
                     headers=dept)
    waived = [a for a in r.json()["attachments"] if a["name"] == "住民票の写し"][0]
    assert waived["required"] is False and "status" in json.loads(api.log_rows(people["parent"])[-1][5])


# consent and credential lifecycle ------------------------------------------------------------------------

def test_granting_twice_renews_one_consent_and_one_revocation_ends_access(api, people):
    client_id, headers = api.client(purposes=("honnin_kakunin_jusho",), kind="private", organisation="株式会社テスト")
    me = api.resident(people["parent"])
    body = {"purpose_id": "honnin_kakunin_jusho", "recipient": client_id}
    first = api.http.post("/v1/me/consents", json=body, headers=me).json()
    second = api.http.post("/v1/me/consents", json=body | {"expires_at": "2030-01-01T00:00:00+09:00"},
                           headers=me).json()
    assert first["consentReceiptID"] == second["consentReceiptID"]  # renewed, not a second consent
    live = [c for c in api.http.get("/v1/me/consents", headers=me).json() if c["state"] == "active"
            and c["recipient"] == client_id]
    assert len(live) == 1 and live[0]["expires_at"].startswith("2029-12-31T15:00")
    url, params = f"/v1/persons/{people['parent']}", {"purpose": "honnin_kakunin_jusho"}
    assert api.http.get(url, params=params, headers=headers).status_code == 200
    assert api.http.delete(f"/v1/me/consents/{first['consentReceiptID']}", headers=me).status_code == 204
    assert api.http.get(url, params=params, headers=headers).status_code == 403
    # the database holds the rule against any writer
    with pytest.raises(Exception, match="(?i)unique"):
        for _ in range(2):
            api.store.execute("insert into consents (consent_id, person_id, purpose_id, client_id, granted_at, "
                              "collection_method, receipt) values (lower(hex(randomblob(16))), ?, ?, ?, "
                              "'2026-01-01', 'x', '{}')", (people["parent"], "honnin_kakunin_jusho", client_id))


def test_resident_credentials_are_bounded_entitled_and_revocable(api, people):
    import datetime as dt

    served = api.served()
    with pytest.raises(RegistrationError, match="no such person"):
        issue_resident_credential(api.store, "P999999999", served.status_of("P999999999"), dt.timedelta(hours=1),
                                  dt.timedelta(hours=24))
    with pytest.raises(RegistrationError, match="gets no resident credential"):
        issue_resident_credential(api.store, "P000000001", "deceased", dt.timedelta(hours=1), dt.timedelta(hours=24))
    with pytest.raises(RegistrationError, match="at most"):
        issue_resident_credential(api.store, people["parent"], "resident", dt.timedelta(days=365),
                                  dt.timedelta(hours=24))
    me = api.resident(people["parent"])
    assert api.http.get("/v1/me/consents", headers=me).status_code == 200
    assert api.http.delete("/v1/me/credential", headers=me).status_code == 204
    assert api.http.get("/v1/me/consents", headers=me).status_code == 401


def test_a_client_without_purposes_or_with_a_zero_rate_is_refused(api):
    for purposes, rate, burst, match in (([], 10.0, 10, "at least one purpose"), (["jidou_teate"], 0.0, 10, "rate"),
                                         (["jidou_teate"], 10.0, 0, "burst")):
        with pytest.raises(RegistrationError, match=match):
            register_client(api.store, "x", "department", "課", purposes, rate, burst)


# the resident can tell who looked ------------------------------------------------------------------------

def test_a_household_members_log_names_the_member_who_did_it(api, people):
    parent = people["parent"]
    me = api.resident(parent)
    r = api.http.get("/v1/me/procedures/jidou_teate_nintei_seikyu/prefill", headers=me)
    assert r.status_code == 200
    members = [m["person_id"] for f in r.json()["form"] if f["field"] == "children_in_household" and f["held"]
               for m in f["value"] if m["person_id"] != parent]
    assert members
    other = members[0]
    theirs = api.http.get("/v1/me/access-log", headers=api.resident(other)).json()
    entry = [e for e in theirs if e["outcome"] == "disclosed:household_member"][0]
    assert entry["actor"] == {"kind": "household_member", "person_id": parent}
    assert entry["recipient"]["kind"] == "household_member"
    own = api.http.get("/v1/me/access-log", headers=me).json()
    assert own[0]["actor"]["kind"] == "self"


# headers --------------------------------------------------------------------------------------------------

def test_personal_answers_are_not_cached_and_redirects_do_not_follow_the_host(api, people):
    _, headers = api.client()
    r = api.http.get(f"/v1/persons/{people['parent']}", params={"purpose": "jidou_teate"}, headers=headers)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    denied = api.http.get(f"/v1/persons/{people['parent']}", params={"purpose": "jidou_teate"})
    assert denied.headers["cache-control"] == "no-store"
    assert "no-store" not in api.http.get("/v1/purposes").headers["cache-control"]
    r = api.http.get(f"/v1/persons/{people['parent']}/", params={"purpose": "jidou_teate"},
                     headers=headers | {"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 404 and "evil" not in json.dumps(dict(r.headers))
    bad = api.http.get(f"/v1/persons/{people['parent']}", params={"purpose": "<script>x</script>"}, headers=headers)
    assert bad.status_code == 422 and "<script>" not in bad.text
