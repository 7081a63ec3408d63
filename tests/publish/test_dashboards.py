"""Dashboards rendered in headless Chromium (Debian's package): every chart draws the marts' data.

Screenshots are written to ``$ONESOURCE_ARTIFACTS/screenshots`` (default ``artifacts/screenshots`` in the
repository, git-ignored).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from core import lake
from publish.dashboards import PAGES, build
from tests.support.browser import chromium
from tests.support.lakes import platform_at
from tests.support.paths import artifact

pytestmark = pytest.mark.browser


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=20000", *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def pages(built_city, tmp_path_factory):
    out = tmp_path_factory.mktemp("dashboards")
    with platform_at(built_city):
        con = lake.connect(read_only=True)
        written = build(con, out)
        con.close()
    return written


@pytest.mark.parametrize("name", list(PAGES))
def test_each_dashboard_draws_its_charts(pages, name):
    path = pages[name]
    png = str(artifact(name.replace(".html", ".png"), "screenshots"))
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


def _drawn(dom: str) -> dict[str, str]:
    """Each chart's drawn markup (its SVG after plotly ran), by chart id."""
    parts = re.split(r'<div class="chart" data-chart="(\w+)"', dom)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _ticks(svg: str, axis: str) -> list[str]:
    """Each tick's text, its lines (a partial month's second line) joined by a space."""
    found = re.findall(rf'<g class="{axis}tick">\s*<text[^>]*>(.*?)</text>', svg, re.S)
    return [" ".join(t for t in re.split(r"<[^>]+>", tick) if t.strip()) for tick in found]


def test_the_drawn_axes_read_as_people_read_them(pages):
    charts = _drawn(_chromium("--window-size=1400,2600", "--dump-dom", pages["dx_kpi.html"].as_uri()).stdout)
    monthly = {k: v for k, v in charts.items() if k.startswith(("kpi", "milestone"))}
    assert len(monthly) >= 5
    for chart_id, svg in monthly.items():
        ticks = _ticks(svg, "x")
        assert ticks, f"{chart_id}: no x ticks drawn"
        assert all(re.fullmatch(r"20\d\d年(1[0-2]|[1-9])月( （\d+月\d+日〜\d+日のみ）)?", t) for t in ticks), \
            f"{chart_id}: {ticks}"
        assert len(set(ticks)) == len(ticks), f"{chart_id}: a month ticked twice {ticks}"
    pyramid = _drawn(_chromium("--window-size=1400,2600", "--dump-dom", pages["population.html"].as_uri()).stdout)
    ticks = _ticks(pyramid["pyramid"], "x")
    assert len(ticks) >= 5 and ticks == ticks[::-1], f"the pyramid's two sides differ: {ticks}"
    assert all(re.fullmatch(r"[0-9,]+", t) for t in ticks), f"negative numbers on the pyramid: {ticks}"


def test_each_milestone_chart_draws_its_target_and_says_the_gap(pages):
    dom = _chromium("--window-size=1400,2600", "--dump-dom", pages["dx_kpi.html"].as_uri()).stdout
    milestones = {k: v for k, v in _drawn(dom).items() if k.startswith("milestone")}
    assert len(milestones) == 3  # ワンストップ, ワンスオンリー, 電子市役所
    for chart_id, svg in milestones.items():
        shapes = re.findall(r'<g class="shapelayer">(.*?)</g>', svg, re.S)  # plotly draws shapes below and above
        assert any("<path" in layer for layer in shapes), f"{chart_id}: no target line drawn"
        labels = re.findall(r'class="annotation-text"[^>]*>([^<]*)<', svg)
        assert any(re.fullmatch(r"目標 \d+%", t) for t in labels), f"{chart_id}: target not labelled ({labels})"
        gap = re.search(r'<p class="gap">([^<]*)</p>', svg)
        assert gap and re.search(r"目標 \d+% (まであと [0-9.]+ ポイント|を達成)", gap.group(1)), chart_id


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_narrow_window_and_print(pages, name, tmp_path):
    """At 500 px (the narrowest window headless Chromium lays out) no chart reaches past the window's edge;
    printed to PDF, the page prints."""
    path = pages[name]
    png = str(artifact(name.replace(".html", "-narrow.png"), "screenshots"))
    _chromium("--window-size=500,3000", f"--screenshot={png}", path.as_uri())
    assert os.path.getsize(png) > 10_000
    dom = _chromium("--window-size=500,3000", "--dump-dom", path.as_uri()).stdout
    assert 'data-overflow="no"' in dom, "the page is wider than a narrow window"
    pdf = artifact(name.replace(".html", ".pdf"), "screenshots")
    _chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", path.as_uri())
    with open(pdf, "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF") and len(data) > 20_000


def _kpi_lake(rows: list[tuple], log: tuple[str, str]):
    """An in-memory lake holding the KPI marts (``rows``: month, office, cases finished, one-stop cases) and a
    front-desk log whose first and last days are ``log``."""
    import duckdb

    con = duckdb.connect()
    con.execute("attach ':memory:' as lake")
    for schema in ("marts", "staging"):
        con.execute(f"create schema lake.{schema}")
    con.execute("create table lake.marts.mart_dx_kpi_monthly (month date, office varchar, procedures int, "
                "online_procedures int, fields_entered int, fields_already_held int, window_cases_finished int, "
                "one_stop_cases int, one_stop_rate double, once_only_rate double, online_share double, "
                "median_lead_time_hours double)")
    for month, office, n, k in rows:
        con.execute("insert into lake.marts.mart_dx_kpi_monthly values (?, ?, 10, 3, 40, 10, ?, ?, ?, 0.75, 0.3, 1.5)",
                    [month, office, n, k, k / n if n else None])
    con.execute("create table lake.marts.mart_dx_milestones as select month, 'ワンストップ' as milestone, "
                "'one_stop_rate' as kpi, sum(one_stop_cases) / sum(window_cases_finished) as value, 0.8::double as "
                "target, 'in_progress' as status, month = max(month) over () as is_latest "
                "from lake.marts.mart_dx_kpi_monthly group by month")
    con.execute("create table lake.staging.stg_madoguchi__procedures (received_at timestamp, completed_at timestamp, "
                "office varchar, delivered_on date)")
    con.execute("insert into lake.staging.stg_madoguchi__procedures values (?, ?, '本庁舎', ?), (?, ?, null, ?)",
                [f"{log[0]} 09:00", f"{log[0]} 10:00", log[0], f"{log[1]} 09:00", None, log[1]])
    return con


def _figures(page: str) -> dict[str, dict]:
    """The plotly figures of a page by chart id (their JSON as plotly.py wrote it)."""
    import json

    found = {}
    for chart_id, data, layout in re.findall(r'Plotly\.newPlot\(\s*"(\w+)",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{"displayModeBar"',
                                             page, re.S):
        found[chart_id] = {"data": json.loads(data), "layout": json.loads(layout)}
    return found


def test_a_procedure_without_its_office_does_not_break_the_kpi_page():
    """A flagged field (拠点 empty in the log) reaches the KPI mart as a null office: the page still renders."""
    import datetime as dt

    from publish.dashboards import dx_kpi_page

    con = _kpi_lake([(dt.date(2026, 9, 1), "本庁舎", 10, 8), (dt.date(2026, 10, 1), None, 7, 5)],
                    ("2026-09-01", "2026-10-31"))
    page = dx_kpi_page(con)
    assert "拠点不明" in page and "2026年10月" in page and "71.4%（5/7件）" in page


def test_a_partial_month_is_marked_and_two_points_are_no_trend():
    """南行徳 at 100 % in a month of 6 days and 50 % (2 of 4) in a week: points with their n, no line."""
    import datetime as dt

    from publish.dashboards import dx_kpi_page

    con = _kpi_lake([(dt.date(2026, 9, 1), "南行徳市民センター", 4, 4), (dt.date(2026, 10, 1), "南行徳市民センター", 4, 2)],
                    ("2026-09-25", "2026-10-07"))
    page = dx_kpi_page(con)
    figs = _figures(page)
    one_stop = figs["kpi0"]
    assert all(t["mode"] == "markers" for t in one_stop["data"]), [t["mode"] for t in one_stop["data"]]
    ticks = one_stop["layout"]["xaxis"]["ticktext"]
    assert ticks == ["2026年9月<br>（9月25日〜30日のみ）", "2026年10月<br>（10月1日〜7日のみ）"]
    assert len([s for s in one_stop["layout"]["shapes"] if s["type"] == "rect"]) == 2
    assert "50.0%（2/4件）" in page and "100.0%（4/4件）" in page
    assert all("customdata" in t["hovertemplate"] for t in one_stop["data"])
    assert "（2026年10月は10月1日〜7日のみの速報値）" in page


def test_enough_full_months_make_a_line_and_the_partial_one_stays_apart():
    import datetime as dt

    from publish.dashboards import MIN_TREND_PERIODS, dx_kpi_page

    months = [dt.date(2026, m, 1) for m in range(5, 11)]  # May..September full, October partial
    con = _kpi_lake([(m, "本庁舎", 20, 15) for m in months], ("2026-05-01", "2026-10-07"))
    one_stop = _figures(dx_kpi_page(con))["kpi0"]
    lines = [t for t in one_stop["data"] if "lines" in t["mode"]]
    assert len(lines) == 1 and len(lines[0]["x"]) == 5 >= MIN_TREND_PERIODS and "2026年10月" not in lines[0]["x"]
    apart = [t for t in one_stop["data"] if t["mode"] == "markers"]
    assert [t["x"] for t in apart] == [["2026年10月"]] and apart[0]["marker"]["symbol"] == "circle-open"
    ticks = one_stop["layout"]["xaxis"]["ticktext"]
    assert ticks[:5] == [f"2026年{m}月" for m in range(5, 10)] and ticks[5].startswith("2026年10月<br>")
