"""The reviewer's workbench through a real browser (Debian's headless Chromium, driven by Playwright): sign-in,
the queue, a pair side by side, a cluster and a split; the next build applies the decisions, an undo reverts.

Screenshots of the queue, pair and cluster views go to ``$ONESOURCE_ARTIFACTS/screenshots`` (default
``artifacts/screenshots``).
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import httpx
import pytest

from core import lake
from core.settings import REPO_ROOT, get_settings
from identity.link import link_all
from tests.support.lakes import build_lake, platform_at
from tests.support.servers import serving
from workbench.app import REFUSALS, create_app
from workbench.operators import add_operator

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(os.environ.get("ONESOURCE_ARTIFACTS", str(REPO_ROOT / "artifacts"))) / "screenshots"


@pytest.fixture(scope="module")
def bench(city, tmp_path_factory):
    """A lake of the test city, an operator and the workbench served on a free port."""
    with platform_at(tmp_path_factory.mktemp("workbench")) as root:
        build_lake(city.landing)
        settings = get_settings()
        password = add_operator(settings, "steward")
        with serving(create_app(settings), REFUSALS) as base:
            yield {"root": root, "base": base, "password": password}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _sign_in(browser, bench):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(bench["base"] + "queue?entity=business")
    assert page.url.endswith("/login")  # nothing without a sign-in
    page.fill("input[name=operator]", "steward")
    page.fill("input[name=password]", bench["password"])
    page.click("#signin")
    assert "/queue" in page.url
    return page


def _ids(entity: str) -> dict[str, str]:
    con = lake.connect(read_only=True)
    try:
        return dict(con.execute(f"select unique_id, {entity}_id from lake.identity.{entity}_membership").fetchall())
    finally:
        con.close()


def _post(url: str, fields: dict, cookie: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST",
                                 headers={"Cookie": cookie} if cookie else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=10) as r:
            return r.status, r.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "")


def test_the_workbench_opens_only_after_a_sign_in(bench, browser):
    base = bench["base"]
    # every page and every form answers with the sign-in when no session is presented, and never with data
    for path in ("queue?entity=person", "pair?entity=person&l=a&r=b", "cluster?id=P000000001"):
        with urllib.request.urlopen(base + path, timeout=10) as r:
            assert r.url.endswith("/login") and "審査待ち" not in r.read().decode()
    status, location = _post(base + "decide", {"entity": "person", "l": "a", "r": "b", "decision": "same"})
    assert status == 303 and location == "login"
    # a signed-in operator's form without the session's CSRF token is refused
    page = _sign_in(browser, bench)
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    status, _ = _post(base + "decide", {"entity": "person", "l": "a", "r": "b", "decision": "same",
                                        "csrf": "forged"}, cookie)
    assert status == 403
    flags = {c["name"]: c for c in page.context.cookies()}["onesource_workbench"]
    assert flags["httpOnly"] and flags["sameSite"] == "Strict"


def test_reviewers_decide_through_the_page_and_the_next_build_applies_them(bench, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _sign_in(browser, bench)
    base = bench["base"]
    # the business queue holds the borrowed 法人番号 of the test city as key conflicts, most impact first
    page.goto(base + "queue?entity=business&reason=key_conflict")
    rows = page.locator("#queue tr.conflict")
    assert rows.count() >= 1
    page.screenshot(path=str(SHOTS / "workbench_queue.png"), full_page=True)
    page.click("a.open-pair >> nth=0")
    assert "/pair" in page.url
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    b_left, b_right = params["l"][0], params["r"][0]
    # side by side: normalized values, the levels that fired with their weights, file and line
    levels = page.inner_text("#levels")
    assert "name" in levels and "same 法人番号" in levels
    assert page.locator("#pair th", has_text="ファイル:行").count() == 1
    page.screenshot(path=str(SHOTS / "workbench_pair.png"), full_page=True)
    # the reviewer vouches for the shared key (same), with a reason
    page.fill("#decide input[name=note]", "代表者に電話で確認: 同一法人")
    page.click("#same")
    assert "同一 / same" in page.inner_text("#pair-decisions")

    # a person uncertain pair: the reviewer says different
    page.goto(base + "queue?entity=person&reason=uncertain_score")
    person_pair = None
    if page.locator("a.open-pair").count():
        page.click("a.open-pair >> nth=0")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
        person_pair = (q["l"][0], q["r"][0])
        page.fill("#decide input[name=note]", "生年月日が住民票と異なる")
        page.click("#different")

    # a cluster: a registry record with its tax records; the reviewer splits one tax record off
    con = lake.connect(read_only=True)
    try:
        pid, split_off = con.execute("""
            select person_id, max(unique_id) filter (where source_system = 'zei') from lake.identity.person_membership
            group by person_id having count(*) filter (where source_system = 'juki') = 1
               and count(*) filter (where source_system = 'zei') >= 1 and count(*) >= 3
            order by person_id limit 1""").fetchone()
    finally:
        con.close()
    page.goto(base + f"cluster?id={pid}")
    assert page.locator("#edges tr").count() >= 2  # the edges (with their kind and weight) that hold it
    page.screenshot(path=str(SHOTS / "workbench_cluster.png"), full_page=True)
    page.check(f"#records input[value='{split_off}']")
    page.fill("#split input[name=note]", "同姓同名の別人の課税記録")
    page.click("#split-button")
    assert "別人・別法人 / different" in page.inner_text("#decisions")

    # the next build applies them
    before_b = _ids("business")
    link_all(lake.connect(), get_settings())
    ids_b, ids_p = _ids("business"), _ids("person")
    assert before_b[b_left] != before_b[b_right] and ids_b[b_left] == ids_b[b_right]
    page.goto(base + f"cluster?id={ids_b[b_left]}")
    history = page.inner_text("#history")  # a merge, or the record moving in (the key's owner keeps its id)
    assert ("merged" in history or f"moved {b_left}" in history or f"moved {b_right}" in history) \
        and "by a reviewer" in history and "代表者に電話で確認" in page.inner_text("#decisions"), history
    if person_pair:
        assert ids_p[person_pair[0]] != ids_p[person_pair[1]]
    assert ids_p[split_off] != pid
    assert all(i == pid for u, i in ids_p.items() if u != split_off and u.startswith("juki|") and ids_p[u] == pid)
    # ... and the id history and the cluster page show it
    page.goto(base + f"cluster?id={pid}")
    history = page.inner_text("#history")
    assert "split" in history and "by a reviewer" in history, history
    assert split_off not in page.inner_text("#records")
    page.goto(base + f"cluster?id={ids_p[split_off]}")
    assert split_off in page.inner_text("#records") and "同姓同名の別人の課税記録" in page.inner_text("#decisions")

    # undo: the reviewer withdraws the business decision; the next build separates the pair again
    page.goto(base + f"pair?entity=business&l={urllib.parse.quote(b_left)}&r={urllib.parse.quote(b_right)}")
    page.fill("#decide input[name=note]", "確認の記録が見つからない")
    page.click("#undo")
    assert "取消 / withdrawn" in page.inner_text("#pair-decisions")
    link_all(lake.connect(), get_settings())
    ids_b = _ids("business")
    assert ids_b[b_left] != ids_b[b_right]


def test_guessing_passwords_is_throttled(bench):
    """Last in this module: the address and the name are throttled for a minute afterwards."""
    codes = []
    with httpx.Client(base_url=bench["base"], follow_redirects=False, timeout=10) as http:
        for i in range(7):
            token = re.search(r'name="csrf" value="([^"]+)"', http.get("login").text).group(1)
            codes.append(http.post("login", data={"operator": "steward", "password": f"wrong{i}",
                                                  "csrf": token}).status_code)
    assert codes[0] == 401 and codes[-1] == 429, codes
