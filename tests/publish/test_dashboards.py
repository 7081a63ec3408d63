"""Dashboards rendered in headless Chromium (Debian's package): every chart draws the marts' data.

Screenshots are written to ``$ONESOURCE_ARTIFACTS/screenshots`` (default ``artifacts/screenshots`` in the
repository, git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from onesource.core import lake
from onesource.core.settings import REPO_ROOT
from publish.dashboards import PAGES, build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = os.environ.get("ONESOURCE_ARTIFACTS", str(REPO_ROOT / "artifacts"))

pytestmark = pytest.mark.browser


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=20000", *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def pages(built_city, tmp_path_factory):
    out = tmp_path_factory.mktemp("dashboards")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESOURCE_HOME", str(built_city / "home"))
        con = lake.connect(read_only=True)
        written = build(con, out)
        con.close()
    return written


@pytest.mark.parametrize("name", list(PAGES))
def test_each_dashboard_draws_its_charts(pages, name):
    path = pages[name]
    shots = os.path.join(ARTIFACTS, "screenshots")
    os.makedirs(shots, exist_ok=True)
    png = os.path.join(shots, name.replace(".html", ".png"))
    shot = _chromium("--window-size=1400,2600", f"--screenshot={png}", path.as_uri())
    assert os.path.getsize(png) > 20_000, shot.stderr[-500:]
    dom = _chromium("--dump-dom", path.as_uri()).stdout
    assert '<html lang="ja">' in dom
    assert 'data-rendered="yes"' in dom, "the page's scripts did not finish"
    charts = re.findall(r'<div class="chart" data-chart="(\w+)" data-points="(\d+)" data-drawn="(\d+)" data-svg="(\d+)"',
                        dom)
    assert len(charts) >= 2, "charts not found in the rendered page"
    for chart_id, expected, drawn, svg in charts:
        assert int(expected) > 0, f"{chart_id}: the mart gave nothing to plot"
        assert int(svg) > 0, f"{chart_id}: plotly did not draw"
        assert 1 <= int(drawn) <= int(expected), f"{chart_id}: {drawn} points drawn for {expected} values"
