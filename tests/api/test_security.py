"""Security: credentials, purposes, consent, probing, hostile input, rate limits, no 個人番号 anywhere."""

from __future__ import annotations

import logging
import re

import pytest

from api.clients import revoke_client

INJECTIONS = ["' OR '1'='1", "P000000001' OR 1=1 --", "1; DROP TABLE consents; --", "../../keys/access_log.key",
              "..%2F..%2Fkeys%2Faccess_log.key", "%00", "P000000001%27", "<script>alert(1)</script>",
              "${jndi:ldap://x}", "jidou_teate' --", "\u202e", "../" * 8 + "etc/passwd"]


def test_no_or_bad_credentials_get_401(api, people):
    url, params = f"/v1/persons/{people['parent']}", {"purpose": "jidou_teate"}
    assert api.http.get(url, params=params).status_code == 401
    assert api.http.get(url, params=params, headers={"X-API-Key": "osk_aaaaaaaaaaaa_" + "x" * 43}).status_code == 401
    assert api.http.get(url, params=params, headers={"X-API-Key": "not a key"}).status_code == 401
    client_id, headers = api.client()
    bad = dict(headers)
    bad["X-API-Key"] = headers["X-API-Key"][:-1] + ("A" if headers["X-API-Key"][-1] != "A" else "B")
    assert api.http.get(url, params=params, headers=bad).status_code == 401
    assert api.http.get(url, params=params, headers=headers).status_code == 200
    revoke_client(api.store, client_id)
    assert api.http.get(url, params=params, headers=headers).status_code == 401  # the very next request
    # a resident credential is not a client key, nor the other way round
    me = api.resident(people["parent"])
    assert api.http.get(url, params=params, headers={"X-API-Key": me["Authorization"][7:]}).status_code == 401
    assert api.http.get("/v1/me/access-log", headers={"Authorization": f"Bearer {headers['X-API-Key']}"}
                        ).status_code == 401
    assert api.http.get("/v1/me/access-log").status_code == 401


def test_a_purpose_the_client_is_not_bound_to_is_403_and_logged(api, people):
    client_id, headers = api.client(purposes=("kokuho_shikaku",))
    pid = people["parent"]
    r = api.http.get(f"/v1/persons/{pid}", params={"purpose": "jidou_teate"}, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "purpose_not_permitted"
    assert "data" not in r.json()
    assert api.log_rows(pid)[-1][1:] == (client_id, pid, "jidou_teate", None, "[]", "denied:purpose_not_permitted")
    r = api.http.get(f"/v1/persons/{pid}", params={"purpose": "no_such_purpose"}, headers=headers)
    assert r.status_code == 400


def test_probing_other_persons_and_other_clients_consents(api, people):
    pid, other = people["parent"], people["others"][0]
    client_id, headers = api.client(kind="private", purposes=("honnin_kakunin_jusho",))
    other_client, other_headers = api.client(kind="private", purposes=("honnin_kakunin_jusho",))
    me = api.resident(pid)
    consent = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho", "recipient": client_id},
                            headers=me).json()["consentReceiptID"]
    params = {"purpose": "honnin_kakunin_jusho"}
    assert api.http.get(f"/v1/persons/{pid}", params=params, headers=headers).status_code == 200
    # consent for one person does not open another; consent to one client does not open another client
    assert api.http.get(f"/v1/persons/{other}", params=params, headers=headers).status_code == 403
    assert api.http.get(f"/v1/persons/{pid}", params=params, headers=other_headers).status_code == 403
    # a person that does not exist looks exactly like one without consent (no existence oracle)
    ghost = api.http.get("/v1/persons/P999999999", params=params, headers=headers)
    assert ghost.status_code == 403 and ghost.json()["error"]["code"] == "no_consent"
    # another resident can neither read nor revoke this consent, nor see this person's log
    them = api.resident(other)
    assert api.http.get(f"/v1/me/consents/{consent}/receipt", headers=them).status_code == 404
    assert api.http.delete(f"/v1/me/consents/{consent}", headers=them).status_code == 404
    assert api.http.get(f"/v1/persons/{pid}", params=params, headers=headers).status_code == 200  # still live
    assert all(e["outcome"] != "disclosed" for e in api.http.get("/v1/me/access-log", headers=them).json())
    assert {c["consent_id"] for c in api.http.get("/v1/me/consents", headers=them).json()} == set()


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_and_traversal_payloads_in_every_parameter(api, people, payload):
    _, headers = api.client(purposes=("jidou_teate", "nyusatsu_shikaku"))
    me = api.resident(people["parent"])
    before = api.store.execute("select count(*) from clients")[0][0], api.store.execute(
        "select count(*) from consents")[0][0]
    pid, hb = people["parent"], people["houjin"]
    calls = [
        ("get", f"/v1/persons/{payload}", {"purpose": "jidou_teate"}, headers),
        ("get", f"/v1/persons/{pid}", {"purpose": payload}, headers),
        ("get", f"/v1/procedures/{payload}/prefill", {"person_id": pid}, headers),
        ("get", "/v1/procedures/jidou_teate_nintei_seikyu/prefill", {"person_id": payload}, headers),
        ("get", f"/v1/businesses/{payload}", {}, {}),
        ("get", f"/v1/businesses/{hb}", {"purpose": payload}, headers),
        ("get", f"/v1/purposes/{payload}", {}, {}),
        ("get", f"/v1/opendata/files/{payload}", {}, {}),
        ("get", "/v1/me/access-log", {"limit": payload, "before_seq": payload}, me),
        ("get", f"/v1/me/consents/{payload}/receipt", {}, me),
        ("delete", f"/v1/me/consents/{payload}", {}, me),
        ("get", f"/v1/me/procedures/{payload}/prefill", {}, me),
    ]
    for method, url, params, hdrs in calls:
        r = api.http.request(method, url, params=params, headers=hdrs)
        assert 400 <= r.status_code < 500, (url, params, r.status_code, r.text)
        assert "data" not in r.json() or r.status_code >= 400
        assert "osk_" not in r.text and "BEGIN" not in r.text and "root:" not in r.text
    r = api.http.post("/v1/me/consents", json={"purpose_id": payload, "recipient": payload}, headers=me)
    assert r.status_code == 422
    after = api.store.execute("select count(*) from clients")[0][0], api.store.execute(
        "select count(*) from consents")[0][0]
    assert before == after


def test_rate_limit_answers_429_with_retry_after(api, people):
    _, headers = api.client(rate=1.0, burst=3)
    url, params = f"/v1/persons/{people['parent']}", {"purpose": "jidou_teate"}
    codes = [api.http.get(url, params=params, headers=headers).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    r = api.http.get(url, params=params, headers=headers)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # limited requests release nothing and are not disclosures
    assert sum(1 for row in api.log_rows(people["parent"]) if row[6] == "disclosed") == 3


def test_no_my_number_in_any_response_or_log_line(api, people, city, caplog):
    """Every 個人番号 of the landing zone, even sent as a parameter, never comes back or reaches a log line."""
    from tests.support.my_numbers import input_my_numbers

    numbers = sorted(input_my_numbers(city.landing))
    assert len(numbers) > 100
    caplog.set_level(logging.INFO)
    _, headers = api.client(purposes=("jidou_teate", "kokuho_shikaku", "jumin_zei_fuka", "nyusatsu_shikaku"))
    me = api.resident(people["parent"])
    bodies = []
    for n in numbers[:40]:
        for url, params, hdrs in [(f"/v1/persons/{n}", {"purpose": "jidou_teate"}, headers),
                                  (f"/v1/persons/{people['parent']}", {"purpose": n}, headers),
                                  ("/v1/procedures/jidou_teate_nintei_seikyu/prefill", {"person_id": n}, headers),
                                  (f"/v1/businesses/{n}", {}, {}), (f"/v1/opendata/files/{n}.csv", {}, {})]:
            bodies.append(api.http.get(url, params=params, headers=hdrs).text)
    for pid in [people["parent"], *people["others"]]:
        for purpose in ("jidou_teate", "kokuho_shikaku", "jumin_zei_fuka"):
            bodies.append(api.http.get(f"/v1/persons/{pid}", params={"purpose": purpose}, headers=headers).text)
    bodies.append(api.http.get("/v1/me/access-log", headers=me).text)
    bodies.append(api.http.get("/openapi.json").text)
    log_text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # the test client
    stored = "\n".join(str(r) for r in api.store.execute("select * from access_log"))
    assert "GET /v1/persons/" in log_text  # the request log did run
    haystack = "\n".join(bodies) + log_text + stored
    digits = set(re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", haystack))
    assert not digits & set(numbers)
