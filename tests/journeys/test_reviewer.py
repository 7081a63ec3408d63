"""A reviewer's first hour: an operator sign-in from the data team, the workbench in a browser, a decision.

As the README tells it: ``onesource workbench operator add NAME`` prints a password once, ``onesource workbench
serve`` serves the pages, the steward signs in, opens the queue, opens a pair and decides; the decision is
stored in the lake for the next linkage.
"""

from __future__ import annotations

import re
import signal
import subprocess

import pytest

from tests.support.browser import CHROMIUM_ARGS, chromium
from tests.support.demo import Demo
from tests.support.paths import artifact
from tests.support.servers import answers, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.browser


def test_a_steward_signs_in_and_decides_a_pair(built_demo: Demo):
    from playwright.sync_api import sync_playwright

    added = built_demo.run("workbench", "operator", "add", "hanako")
    assert added.returncode == 0, added.stderr
    password = re.search(r"^password: (\S+)$", added.stdout, re.M).group(1)
    port = free_port()
    server = built_demo.popen("workbench", "serve", "--port", str(port), log=artifact("workbench.log"))
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: answers(base + "login"), 120, what="the workbench answering")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
            page.goto(base)
            assert page.url.endswith("/login")
            page.fill("input[name=operator]", "hanako")
            page.fill("input[name=password]", password)
            page.click("#signin")
            assert "/queue" in page.url
            # the demo city's queue: the businesses' (its persons link without doubt), most impact first
            page.goto(base + "queue?entity=business")
            page.screenshot(path=str(artifact("reviewer_queue.png")), full_page=True)
            pairs = page.locator("a.open-pair")
            assert pairs.count() >= 1, "the demo city leaves the reviewer nothing to review"
            pairs.first.click()
            assert "/pair" in page.url
            page.screenshot(path=str(artifact("reviewer_pair.png")), full_page=True)
            page.fill("#decide input[name=note]", "登記簿で確認中")
            page.click("#unsure")
            assert "保留 / unsure" in page.inner_text("#pair-decisions")
            browser.close()
        stored = built_demo.run("query", "select decision, reviewer, note from lake.identity.business_review_decisions")
        assert stored.returncode == 0 and "unsure" in stored.stdout and "hanako" in stored.stdout, stored.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
