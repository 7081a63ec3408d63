"""A resident's first hour with the consented-data API, as the README and docs/api.md tell it.

A resident of the demo city signs in (``onesource residents credential``, the demo's stand-in for the portal's
マイナンバーカード sign-in), grants a subsidy service consent, has a form prefilled by it and prefills one for
themself, reads in their own access log every read of their data (the refusal after they revoked the consent
too), and signs out.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.demo import field, served

PROCEDURE = "hojokin_kojin_shinsei"  # 補助金 交付申請（個人）: purpose hojokin_shinsei, which rests on consent


@pytest.fixture(scope="module")
def api(built_demo):
    with served(built_demo, "resident") as base:
        yield base


def test_a_resident_consents_is_prefilled_and_sees_every_read(built_demo, api):
    demo = built_demo
    sample = demo.run("residents", "sample", "--with-children")
    assert sample.returncode == 0, sample.stderr
    person_id = re.findall(r"^(P\d{9})\s", sample.stdout, re.M)[-1]  # not the developer journey's person

    # the resident signs in
    credential = demo.run("residents", "credential", person_id, "--hours", "2")
    assert credential.returncode == 0, credential.stderr
    token = credential.stdout.strip()
    assert token.startswith("osr_")
    me = httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    # a subsidy service, registered as docs/api.md says
    added = demo.run("clients", "add", "補助金申請サービス", "--kind", "private", "--organisation", "株式会社てつづき",
                     "--purpose", "hojokin_shinsei")
    assert added.returncode == 0, added.stderr
    client_id, key = field(added.stdout, "client_id"), field(added.stdout, "api_key")
    service = httpx.Client(base_url=api, headers={"X-API-Key": key}, timeout=30)
    prefill_url, params = f"/v1/procedures/{PROCEDURE}/prefill", {"person_id": person_id}

    # the resident grants the service consent, with an expiry, and sees it among their consents
    granted = me.post("/v1/me/consents", json={"purpose_id": "hojokin_shinsei", "recipient": client_id,
                                               "expires_at": "2030-03-31T23:59:59+09:00"})
    assert granted.status_code == 201, granted.text
    receipt = granted.json()
    consent_id = receipt["consentReceiptID"]
    assert receipt["recipientClientId"] == client_id
    assert me.get(f"/v1/me/consents/{consent_id}/receipt").json()["consentReceiptID"] == consent_id
    mine = [c for c in me.get("/v1/me/consents").json() if c["consent_id"] == consent_id]
    assert [(c["purpose_id"], c["recipient"], c["state"]) for c in mine] == [("hojokin_shinsei", client_id, "active")]

    # the service prefills the subsidy form: what the city holds, the address whole
    filled = service.get(prefill_url, params=params)
    assert filled.status_code == 200, filled.text
    form = {f["label"]: f for f in filled.json()["form"]}
    assert form["申請者氏名"]["held"] and form["申請金額"]["held"] is False
    address = form["住所"]["value"]
    assert address["text"].startswith("千葉県市川市") and re.fullmatch(r"\d{3}-\d{4}", address["postal_code"] or "")

    # the resident prefills the 児童手当 claim for themself: no consent needed, the registry's copy not needed
    own = me.get("/v1/me/procedures/jidou_teate_nintei_seikyu/prefill")
    assert own.status_code == 200, own.text
    own_form = {f["label"]: f for f in own.json()["form"]}
    assert own_form["監護する児童"]["held"] and own_form["住所"]["value"] == address
    attachments = {a["name"]: a["required"] for a in own.json()["attachments"]}
    assert attachments["住民票の写し"] is False and attachments["振込先口座の確認書類"] is True

    # the resident revokes the consent: the next prefill by the service is refused
    assert me.delete(f"/v1/me/consents/{consent_id}").status_code == 204
    refused = service.get(prefill_url, params=params)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_consent"

    # every read, by whom, for what, which fields, and the refusal, newest first
    log = me.get("/v1/me/access-log", params={"limit": 3})
    assert log.status_code == 200, log.text
    entries = log.json()
    assert [(e["actor"]["kind"], e["purpose"]["id"], e["outcome"]) for e in entries] == [
        ("private", "hojokin_shinsei", "denied:no_consent"),
        ("self", "jidou_teate", "prefilled"),
        ("private", "hojokin_shinsei", "prefilled")]
    by_service = entries[2]
    assert by_service["recipient"] == {"client_id": client_id, "name": "補助金申請サービス",
                                       "organisation": "株式会社てつづき", "kind": "private"}
    assert by_service["consent_id"] == consent_id and "address" in by_service["fields"]
    assert by_service["seq"] == filled.json()["access_log_seq"]

    # and signs out: the credential stops working on the next request
    assert me.delete("/v1/me/credential").status_code == 204
    assert me.get("/v1/me/access-log").status_code == 401
