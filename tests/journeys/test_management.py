"""Management's journey: the DX KPI dashboards the demo published, opened in a browser as a manager opens them.

Every page of ``$ONESOURCE_HOME/dashboards/`` (README: *Marts, open data, dashboards*) in Debian's headless
Chromium, on a closed network, in a desktop window (1280 px) and a narrow one (500 px). What a manager must be
able to trust: no title is cut off, a month the data holds only in part says so, no line is drawn through too
few months to be a trend, and every rate shows how many cases it rests on (its n). Each page is screenshot
into the artifacts folder.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.support.browser import CHROMIUM_ARGS, chromium
from tests.support.paths import artifact

pytestmark = pytest.mark.browser

PAGES = ["index.html", "dx_kpi.html", "population.html", "once_only.html"]
WIDTHS = [1280, 500]
RATE_CHARTS = ["kpi0", "kpi1", "kpi2", "milestone0", "milestone1", "milestone2"]  # the charts that plot rates
MONTHLY_CHARTS = ["kpi0", "kpi1", "kpi2", "kpi3", "milestone0", "milestone1", "milestone2", "reentered"]
MIN_TREND_PERIODS = 3  # the rule the README gives: fewer full months than this are points, never a line

# what each chart's titles and labels occupy, against the box they must fit in (page coordinates)
MEASURE = """() => {
  const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1
                             && r.bottom <= box.bottom + 1;
  const page = {left: 0, top: 0, right: document.documentElement.clientWidth, bottom: 1e9};
  return [...document.querySelectorAll('.chart')].map(c => {
    const svg = c.querySelector('.main-svg');
    const box = svg ? svg.getBoundingClientRect() : page;
    const titles = [];
    for (const h of c.querySelectorAll('h1,h2,h3,h4')) {
      const r = h.getBoundingClientRect();
      titles.push({text: h.textContent, kind: 'html', fits: inside(r, page) && h.scrollWidth <= h.clientWidth + 1});
    }
    for (const t of c.querySelectorAll('.gtitle, .g-gtitle text')) {
      const r = t.getBoundingClientRect();
      if (r.width > 0) titles.push({text: t.textContent, kind: 'svg', fits: inside(r, box)});
    }
    const labels = [...c.querySelectorAll('.annotation-text, .legendtext, .g-xtitle text, .g-ytitle text')]
      .filter(t => t.getBoundingClientRect().width > 0)
      .map(t => ({text: t.textContent, fits: inside(t.getBoundingClientRect(), box)}));
    const ticks = [...c.querySelectorAll('.xtick text')].map(t => t.textContent);
    const gd = c.querySelector('.js-plotly-plot');
    const traces = gd ? gd.data.map(d => ({mode: d.mode || '', type: d.type || 'scatter', x: [...(d.x || [])],
                                           hover: d.hovertemplate || '', custom: !!d.customdata})) : [];
    const shapes = gd ? (gd.layout.shapes || []).filter(s => s.type === 'rect').map(s => [s.x0, s.x1]) : [];
    const text = c.innerText;
    return {id: c.dataset.chart, titles, labels, ticks, traces, shapes, text};
  });
}"""


def _coverage(demo) -> tuple[dt.date, dt.date]:
    """The days of the front-desk log the demo delivered (``landing/madoguchi/<date>/uketsuke_<day>.csv``, one
    file a day): the truth the pages must tell, read from what the front desk sent, not from the platform."""
    days = sorted(dt.datetime.strptime(f.stem.split("_")[-1], "%Y%m%d").date()
                  for f in (demo.home / "landing" / "madoguchi").glob("*/uketsuke_*.csv")
                  if (f.parent / "_SUCCESS").exists())
    assert days, "the demo delivered no front-desk log"
    return days[0], days[-1]


def _partial(month: dt.date, first: dt.date, last: dt.date) -> bool:
    end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return first > month or last < end


@pytest.fixture(scope="module")
def rendered(built_demo):
    """Every page at every width: screenshot, what the charts measure, and any request that left the machine."""
    from playwright.sync_api import sync_playwright

    folder = built_demo.home / "dashboards"
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            for width in WIDTHS:
                ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP")
                outside: list[str] = []

                def offline(route, outside=outside):  # a closed network: only the page's own file loads
                    if route.request.url.startswith(("file:", "data:", "blob:")):
                        return route.continue_()
                    outside.append(route.request.url)
                    return route.abort()

                ctx.route("**/*", offline)
                page = ctx.new_page()
                for name in PAGES:
                    page.goto((folder / name).as_uri())
                    page.wait_for_selector("body[data-rendered=yes]", timeout=60_000)
                    page.screenshot(path=str(artifact(f"management_{name.removesuffix('.html')}_{width}px.png")),
                                    full_page=True)
                    out[(name, width)] = {"charts": page.evaluate(MEASURE),
                                          "overflow": page.evaluate("document.body.dataset.overflow"),
                                          "text": page.inner_text("body"), "outside": list(outside)}
                    if name == "dx_kpi.html":
                        out[(name, width)]["hover"] = _hover_texts(page)
                ctx.close()
        finally:
            browser.close()
    return out


def _hover_texts(page) -> dict[str, str]:
    """What a manager sees when pointing at the first point of each rate chart (the hover label's text)."""
    texts = {}
    for chart in RATE_CHARTS:
        point = page.locator(f'[data-chart="{chart}"] .scatterlayer .point').first
        if point.count() == 0:
            continue
        point.scroll_into_view_if_needed()
        box = point.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x - 15, y)
        page.mouse.move(x, y, steps=5)
        label = f'[data-chart="{chart}"] .hoverlayer .hovertext'
        try:
            page.wait_for_selector(label, timeout=5_000)
            texts[chart] = page.eval_on_selector(label, "e => e.textContent")
        except Exception:  # noqa: BLE001 - no hover label is what the assertion reports
            texts[chart] = ""
        page.mouse.move(0, 0)
    return texts


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_every_dashboard_renders_offline_and_fits(rendered, name, width):
    seen = rendered[(name, width)]
    assert not seen["outside"], f"{name} asked the network for {seen['outside'][:3]} (plotly.js must be inlined)"
    assert seen["overflow"] == "no", f"{name} at {width} px is wider than the window"
    if name != "index.html":
        assert seen["charts"], f"{name}: no chart drawn"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["dx_kpi.html", "population.html", "once_only.html"])
def test_no_title_or_label_is_cut_off(rendered, name, width):
    for chart in rendered[(name, width)]["charts"]:
        assert chart["titles"], f"{name} {chart['id']}: the chart has no title"
        clipped = [t["text"] for t in chart["titles"] if not t["fits"]]
        assert not clipped, f"{name} {chart['id']} at {width} px: title cut off: {clipped}"
        clipped = [t["text"] for t in chart["labels"] if not t["fits"]]
        assert not clipped, f"{name} {chart['id']} at {width} px: label outside the chart: {clipped}"


@pytest.mark.parametrize("width", WIDTHS)
def test_partial_months_are_marked(rendered, built_demo, width):
    first, last = _coverage(built_demo)
    charts = {c["id"]: c for name in ("dx_kpi.html", "once_only.html") for c in rendered[(name, width)]["charts"]}
    checked = 0
    for chart_id in MONTHLY_CHARTS:
        chart = charts[chart_id]
        months = [t for t in chart["ticks"]]
        assert months, f"{chart_id}: no month on the axis"
        for i, tick in enumerate(months):
            year, month = map(int, re.match(r"(\d{4})年(\d{1,2})月", tick).groups())
            if _partial(dt.date(year, month, 1), first, last):
                checked += 1
                # the tick says which days the month holds, and the month is shaded
                assert re.search(r"\d+月\d+日〜\d+日のみ", tick), f"{chart_id}: partial {tick!r} not marked"
                assert any(x0 <= i <= x1 for x0, x1 in chart["shapes"]), f"{chart_id}: partial {tick} not shaded"
            else:
                assert "のみ" not in tick, f"{chart_id}: a full month marked partial: {tick!r}"
    assert checked, f"the demo's log ({first}..{last}) has no partial month: the test checks nothing"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_trend_line_through_too_few_full_months(rendered, built_demo, width):
    """A line says "trend": it joins only full months, and only where there are enough of them."""
    first, last = _coverage(built_demo)
    charts = {c["id"]: c for name in ("dx_kpi.html", "once_only.html") for c in rendered[(name, width)]["charts"]}
    for chart_id in MONTHLY_CHARTS:
        for trace in charts[chart_id]["traces"]:
            if trace["type"] != "scatter" or "lines" not in trace["mode"]:
                continue
            months = [dt.date(*map(int, re.match(r"(\d{4})年(\d{1,2})月", x).groups()), 1) for x in trace["x"]]
            partial = [m for m in months if _partial(m, first, last)]
            assert not partial, f"{chart_id}: a line runs through the partial month(s) {partial}"
            assert len(months) >= MIN_TREND_PERIODS, \
                f"{chart_id}: a line drawn through {len(months)} point(s), fewer than {MIN_TREND_PERIODS} full months"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_rate_shows_its_n(rendered, width):
    seen = rendered[("dx_kpi.html", width)]
    charts = {c["id"]: c for c in seen["charts"]}
    for chart_id in RATE_CHARTS:
        chart = charts[chart_id]
        points = sum(len(t["x"]) for t in chart["traces"] if t["type"] == "scatter")
        shown = re.findall(r"\d+\.\d%（[\d,]+/[\d,]+[件項目]+）", chart["text"])
        assert points and len(shown) >= points, \
            f"{chart_id}: {points} rate(s) plotted, {len(shown)} shown with their n: {chart['text'][:300]!r}"
        assert all(t["custom"] and "customdata" in t["hover"] for t in chart["traces"] if t["type"] == "scatter"), \
            f"{chart_id}: the hover does not carry the n"
        hover = seen["hover"].get(chart_id, "")
        assert re.search(r"[\d,]+/[\d,]+[件項目]", hover), f"{chart_id}: hovering a point shows no n: {hover!r}"
        # each rate is what its n says it is (南行徳 in October: 2 of 4 cases, 50.0%)
        for value, k, n in re.findall(r"(\d+\.\d)%（([\d,]+)/([\d,]+)[件項目]+）", chart["text"]):
            k, n = int(k.replace(",", "")), int(n.replace(",", ""))
            assert n > 0 and abs(float(value) - 100 * k / n) < 0.051, f"{chart_id}: {value}% is not {k}/{n}"
