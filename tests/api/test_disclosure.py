"""What the API gives out: only a purpose's fields, only with a law or live consent, from one release."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

from api.catalog import load_catalog
from core import lake


def _lake_person(snapshot: int, person_id: str) -> dict:
    con = lake.connect(read_only=True)
    try:
        cur = con.execute(f"select * from lake.marts.dim_person at (version => {snapshot}) where person_id = ?",
                          [person_id])
        row = cur.fetchone()
        names = [d[0] for d in cur.description]
        tax = con.execute(f"select fiscal_year, total_levy_yen from lake.marts.mart_resident_tax_by_person "
                          f"at (version => {snapshot}) where person_id = ? order by fiscal_year desc",
                          [person_id]).fetchall()
        household = con.execute(f"select person_id from lake.marts.dim_person at (version => {snapshot}) "
                                "where household_id = ? order by person_id", [dict(zip(names, row))["household_id"]]
                                ).fetchall()
    finally:
        con.close()
    return dict(zip(names, row)) | {"tax": tax, "household": [r[0] for r in household]}


def whole_address(person: dict) -> dict:
    """The address an answer must carry for a person of the mart: 都道府県 and 市区町村 before the mart's address, the
    registry's 郵便番号 (NNN-NNNN) and the 方書."""
    assert person["address"] and re.fullmatch(r"[0-9]{7}", person["postal_code"] or ""), person
    text = "千葉県市川市" + person["address"] + (f" {person['katagaki']}" if person["katagaki"] else "")
    return {"postal_code": f"{person['postal_code'][:3]}-{person['postal_code'][3:]}", "prefecture": "千葉県",
            "city": "市川市", "lg_code": "122033", "town": person["town"], "street": person["address"],
            "building": person["katagaki"], "text": text}


def test_law_based_purpose_returns_exactly_its_fields_from_the_release(api, people):
    client_id, headers = api.client(purposes=("jidou_teate",))
    pid = people["parent"]
    r = api.http.get(f"/v1/persons/{pid}", params={"purpose": "jidou_teate"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    purpose = load_catalog().purpose("jidou_teate")
    assert set(body["data"]) == set(purpose.fields)  # nothing more than the purpose needs
    assert body["consent_id"] is None and body["purpose"]["legal_basis"]["kind"] == "law"
    assert body["snapshot_id"] == people["snapshot"] == int(r.headers["X-OneSource-Snapshot"])
    truth = _lake_person(body["snapshot_id"], pid)
    assert body["data"]["name"] == truth["name"] and body["data"]["address"] == whole_address(truth)
    assert body["data"]["birth_date"] == truth["birth_date"].isoformat()
    assert [m["person_id"] for m in body["data"]["household_members"]] == truth["household"]
    assert [(t["fiscal_year"], t["total_levy_yen"]) for t in body["data"]["resident_tax"]] == truth["tax"]
    assert body["data"]["children_in_household"], "the chosen parent has a child under 18"
    # the disclosure is logged for the person and for each household member named in it
    own = api.log_rows(pid)
    assert [(r[1], r[3], r[6]) for r in own] == [(client_id, "jidou_teate", "disclosed")]
    assert json.loads(own[0][5]) == sorted(purpose.fields)
    assert own[0][0] == body["access_log_seq"]
    member = next(m["person_id"] for m in body["data"]["household_members"] if m["person_id"] != pid)
    assert [r[6] for r in api.log_rows(member)] == ["disclosed:household_member"]


def test_fields_differ_by_purpose(api, people):
    _, headers = api.client(purposes=("jidou_teate", "jumin_zei_fuka"))
    pid = people["parent"]
    a = api.http.get(f"/v1/persons/{pid}", params={"purpose": "jidou_teate"}, headers=headers).json()["data"]
    b = api.http.get(f"/v1/persons/{pid}", params={"purpose": "jumin_zei_fuka"}, headers=headers).json()["data"]
    assert "household_members" in a and "household_members" not in b
    assert set(b) == set(load_catalog().purpose("jumin_zei_fuka").fields)


def test_consent_grant_receipt_use_and_revocation_on_the_next_request(api, people):
    client_id, headers = api.client(kind="private", purposes=("honnin_kakunin_jusho",), organisation="市川信用金庫")
    pid = people["parent"]
    url, params = f"/v1/persons/{pid}", {"purpose": "honnin_kakunin_jusho"}
    assert api.http.get(url, params=params, headers=headers).json()["error"]["code"] == "no_consent"

    me = api.resident(pid)
    r = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho", "recipient": client_id},
                      headers=me)
    assert r.status_code == 201, r.text
    receipt = r.json()
    for key in ("version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "language",
                "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"):
        assert key in receipt, key
    assert receipt["piiPrincipalId"] == pid
    p = receipt["services"][0]["purposes"][0]
    assert p["thirdPartyDisclosure"] is True and p["thirdPartyName"] == "市川信用金庫"
    assert p["piiCategory"] == ["氏名", "氏名（カナ）", "生年月日", "住所"]
    consent_id = receipt["consentReceiptID"]
    assert api.http.get(f"/v1/me/consents/{consent_id}/receipt", headers=me).json() == receipt

    ok = api.http.get(url, params=params, headers=headers)
    assert ok.status_code == 200 and ok.json()["consent_id"] == consent_id
    assert set(ok.json()["data"]) == {"name", "name_kana", "birth_date", "address"}

    assert api.http.delete(f"/v1/me/consents/{consent_id}", headers=me).status_code == 204
    denied = api.http.get(url, params=params, headers=headers)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "no_consent"
    states = {c["consent_id"]: c["state"] for c in api.http.get("/v1/me/consents", headers=me).json()}
    assert states[consent_id] == "revoked"
    outcomes = [r["outcome"] for r in api.http.get("/v1/me/access-log", headers=me).json()]
    assert outcomes == ["denied:no_consent", "disclosed", "denied:no_consent"]


def test_consent_expires(api, people):
    client_id, headers = api.client(kind="private", purposes=("honnin_kakunin_jusho",))
    pid = people["others"][0]
    me = api.resident(pid)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1.5)).isoformat()
    r = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho", "recipient": client_id,
                                               "expires_at": soon}, headers=me)
    assert r.status_code == 201
    url, params = f"/v1/persons/{pid}", {"purpose": "honnin_kakunin_jusho"}
    assert api.http.get(url, params=params, headers=headers).status_code == 200
    time.sleep(1.6)
    assert api.http.get(url, params=params, headers=headers).json()["error"]["code"] == "no_consent"


def test_consent_cannot_be_given_for_a_law_based_purpose_or_to_an_unbound_recipient(api, people):
    dept_id, _ = api.client(purposes=("jidou_teate",))
    me = api.resident(people["parent"])
    r = api.http.post("/v1/me/consents", json={"purpose_id": "jidou_teate", "recipient": dept_id}, headers=me)
    assert r.status_code == 400 and "rests on law" in r.json()["error"]["message"]
    r = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho", "recipient": dept_id},
                      headers=me)
    assert r.status_code == 400


def test_prefill_fills_what_the_city_holds_and_waives_attachments(api, people):
    _, headers = api.client(purposes=("jidou_teate",))
    pid = people["parent"]
    r = api.http.get("/v1/procedures/jidou_teate_nintei_seikyu/prefill", params={"person_id": pid}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    truth = _lake_person(body["snapshot_id"], pid)
    form = {f["label"]: f for f in body["form"]}
    assert form["請求者氏名"]["value"] == truth["name"] and form["住所"]["value"] == whole_address(truth)
    assert form["振込先口座"]["held"] is False
    att = {a["name"]: a["required"] for a in body["attachments"]}
    latest_year = truth["tax"][0][0]
    assert att["住民票の写し"] is False  # a resident: the registry holds it
    assert att["課税証明書"] is (latest_year != body_tax_year(api))
    assert att["振込先口座の確認書類"] is True
    # the resident can prefill their own form without any client, and sees it in their log
    me = api.resident(pid)
    mine = api.http.get("/v1/me/procedures/jidou_teate_nintei_seikyu/prefill", headers=me)
    assert mine.status_code == 200 and mine.json()["form"] == body["form"]
    log = api.http.get("/v1/me/access-log", headers=me).json()
    assert [e["recipient"]["kind"] for e in log][:2] == ["self", "department"]


def body_tax_year(api) -> int:
    return api.http.app.state.ctx.watcher.current.tax_year


def test_business_public_data_is_open_and_the_rest_needs_a_purpose(api, people):
    hb = people["houjin"]
    r = api.http.get(f"/v1/businesses/{hb}")
    assert r.status_code == 200 and r.json()["restricted"] is None and r.json()["public"]["houjin_bango"] == hb
    assert api.http.get(f"/v1/businesses/{hb}", params={"purpose": "nyusatsu_shikaku"}).status_code == 401
    _, private = api.client(kind="private", purposes=("honnin_kakunin_jusho",))
    assert api.http.get(f"/v1/businesses/{hb}", params={"purpose": "nyusatsu_shikaku"},
                        headers=private).status_code == 403
    _, dept = api.client(purposes=("nyusatsu_shikaku",))
    body = api.http.get(f"/v1/businesses/{hb}", params={"purpose": "nyusatsu_shikaku"}, headers=dept).json()
    assert body["restricted"]["contracts"]["contracts"] >= 1
    assert api.log_rows(body["business_id"])[-1][6] == "disclosed"


def test_open_data_and_catalog_need_no_credentials(api):
    cat = api.http.get("/v1/opendata/catalog")
    assert cat.status_code == 200 and cat.headers["content-type"].startswith("application/ld+json")
    urls = [d["dcat:downloadURL"]["@id"] for ds in cat.json()["dcat:dataset"] for d in ds["dcat:distribution"]]
    assert urls
    for url in urls:
        name = url.rsplit("/", 1)[-1]
        r = api.http.get(f"/v1/opendata/files/{name}")
        assert r.status_code == 200
        if name.endswith("_sjis.csv"):  # the Shift_JIS copy, labelled as such
            assert r.headers["content-type"] == "text/csv; charset=shift_jis" and r.content.decode("cp932")
        else:
            assert r.headers["content-type"] == "text/csv; charset=utf-8" and r.content.startswith("\ufeff".encode())
    assert any(u.endswith("_sjis.csv") for u in urls)
    assert api.http.get("/v1/purposes").status_code == 200
    assert {p["id"] for p in api.http.get("/v1/procedures").json()} >= {"jidou_teate_nintei_seikyu"}


def test_openapi_is_documented_in_japanese_and_english(api):
    spec = api.http.get("/openapi.json").json()
    ops = [op for path in spec["paths"].values() for op in path.values()]
    assert all(op.get("summary") and " / " in op["summary"] for op in ops), "each summary gives ja / en"
    assert any("利用目的" in (op.get("description") or "") and "purpose" in (op.get("description") or "")
               for op in ops)
    assert set(spec["components"]["securitySchemes"]) == {"ClientKey", "ResidentToken"}
