"""An API developer's first hour: from the README to a first consented lookup, as docs/api.md tells it.

The README's API section links docs/api.md; every step here is a command or a request that page gives, run as a
developer runs it (the installed ``onesource`` command, ``onesource serve`` on a port of its own, httpx), on the
demo city. Then the documentation pages, rendered in Chromium with every request off this machine refused, as on
a city network without the internet (LGWAN).
"""

from __future__ import annotations

import re

import httpx
import pytest

from api.catalog import load_catalog
from core.towns import load_towns
from tests.support.browser import CHROMIUM_ARGS, chromium
from tests.support.demo import field, served
from tests.support.paths import REPO, artifact

GUIDE = REPO / "docs" / "api.md"


@pytest.fixture(scope="module")
def api(built_demo):
    with served(built_demo, "api_developer") as base:
        yield base


def test_the_readme_leads_to_the_guide_and_the_guide_gives_every_step():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    api_section = readme.split("## The consented-data API", 1)[1].split("\n## ", 1)[0]
    assert "docs/api.md" in api_section
    guide = GUIDE.read_text(encoding="utf-8")
    for step in ("onesource serve", "/docs", "/redoc", "onesource clients add", "--kind private",
                 "--purpose honnin_kakunin_jusho", "onesource residents sample", "onesource residents credential",
                 "POST http://127.0.0.1:8000/v1/me/consents", '"purpose_id": "honnin_kakunin_jusho"', '"recipient"',
                 "X-API-Key", "/v1/persons/P000000004?purpose=honnin_kakunin_jusho", "/v1/me/access-log"):
        assert step in guide, f"docs/api.md does not say {step!r}"
    for pid in (p.id for p in load_catalog().purposes):
        assert f"`{pid}`" in guide, f"docs/api.md does not list the purpose {pid}"


def test_from_zero_to_a_first_consented_lookup(built_demo, api):
    demo = built_demo
    purposes = httpx.get(f"{api}/v1/purposes").json()
    ids = [p["id"] for p in purposes]
    # the purpose ids: in `clients add --help`, and in the error a wrong one gets
    helped = demo.run("clients", "add", "--help")
    assert helped.returncode == 0, helped.stderr
    for pid in ids:
        assert pid in helped.stdout, f"clients add --help does not list {pid}"
    wrong = demo.run("clients", "add", "typo", "--kind", "private", "--purpose", "honnin_kakunin")
    assert wrong.returncode == 2 and all(pid in wrong.stderr + wrong.stdout for pid in ids), wrong.stderr

    # register the client as the guide does: its client id is the consent's recipient, its key authenticates
    added = demo.run("clients", "add", "いちかわ銀行 本人確認", "--kind", "private", "--organisation",
                     "株式会社いちかわ銀行", "--purpose", "honnin_kakunin_jusho")
    assert added.returncode == 0, added.stderr
    client_id, key = field(added.stdout, "client_id"), field(added.stdout, "api_key")
    bank = httpx.Client(base_url=api, headers={"X-API-Key": key}, timeout=30)

    # a person to look up
    sample = demo.run("residents", "sample")
    assert sample.returncode == 0, sample.stderr
    person_ids = re.findall(r"^(P\d{9})\s", sample.stdout, re.M)
    assert person_ids, sample.stdout
    person_id = person_ids[0]
    url, params = f"/v1/persons/{person_id}", {"purpose": "honnin_kakunin_jusho"}

    # no consent yet: refused, and saying why
    refused = bank.get(url, params=params)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "no_consent", refused.text

    # the resident signs in (the demo's stand-in for the portal) and grants consent with the guide's body
    credential = demo.run("residents", "credential", person_id)
    assert credential.returncode == 0, credential.stderr
    resident = {"Authorization": f"Bearer {credential.stdout.strip()}"}
    granted = httpx.post(f"{api}/v1/me/consents", headers=resident,
                         json={"purpose_id": "honnin_kakunin_jusho", "recipient": client_id})
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["consentReceiptID"]

    # the first consented lookup: the purpose's fields, relying on that consent
    answer = bank.get(url, params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    fields = next(p["fields"] for p in purposes if p["id"] == "honnin_kakunin_jusho")
    assert set(body["data"]) == set(fields) and body["consent_id"] == consent_id
    assert int(answer.headers["X-OneSource-Snapshot"]) == body["snapshot_id"]

    # the address is whole: what a bank compares with the address it holds
    address = body["data"]["address"]
    assert address["prefecture"] == "千葉県" and address["city"] == "市川市" and address["lg_code"] == "122033"
    assert address["text"].startswith("千葉県市川市" + address["street"])
    assert address["street"].startswith(address["town"])
    town_postal = {t.name: t.postal for t in load_towns()}[address["town"]]  # the simulator delivers these
    assert re.fullmatch(r"\d{3}-\d{4}", address["postal_code"] or ""), address
    assert address["postal_code"].replace("-", "") == town_postal.replace("-", "")
    if address["building"]:
        assert address["text"].endswith(" " + address["building"])

    # the server's terminal shows the request by its route, never the person id as sent
    served_log = artifact("api_developer_serve.log").read_text(encoding="utf-8")
    assert "GET /v1/persons/{person_id} 200 " in served_log and person_id not in served_log

    # and the resident sees it in their own access log
    log = httpx.get(f"{api}/v1/me/access-log", headers=resident).json()
    assert [(e["recipient"]["client_id"], e["purpose"]["id"], e["outcome"]) for e in log[:2]] == [
        (client_id, "honnin_kakunin_jusho", "disclosed"), (client_id, "honnin_kakunin_jusho", "denied:no_consent")]
    assert log[0]["seq"] == body["access_log_seq"] and log[0]["consent_id"] == consent_id


@pytest.mark.browser
@pytest.mark.parametrize(("page_path", "shows"), [("/docs", "/v1/persons/{person_id}"),
                                                   ("/redoc", "/v1/persons/{person_id}")])
def test_the_documentation_renders_without_the_internet(api, page_path, shows):
    from playwright.sync_api import sync_playwright

    left_the_machine: list[str] = []
    refused_by_policy: list[str] = []

    def local_only(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            return route.continue_()
        left_the_machine.append(url)
        return route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", local_only)
            page.on("console", lambda m: refused_by_policy.append(m.text) if "Content Security Policy" in m.text
                    else None)
            response = page.goto(api + page_path)
            assert response.status == 200
            try:
                page.get_by_text(shows, exact=True).first.wait_for(state="visible", timeout=60_000)
            finally:
                page.screenshot(path=artifact(f"api_developer{page_path.replace('/', '_')}.png"), full_page=False)
            if page_path == "/docs":  # Swagger UI lists every tag's operations
                assert page.locator(".opblock").count() >= 10
            else:  # ReDoc: the operation's own section
                assert page.get_by_text("利用目的に必要な本人情報 / A person's data for a purpose").count() >= 1
            csp = response.headers.get("content-security-policy", "")
            assert "default-src 'none'" in csp and "http" not in csp  # the page's own policy: only its own assets
        finally:
            browser.close()
    # the pages asked nothing of the internet; a ReDoc footer logo on a CDN is refused by the page's own policy
    assert left_the_machine == []
    assert all("cdn.redoc.ly" in m for m in refused_by_policy), refused_by_policy
