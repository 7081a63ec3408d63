"""Dashboards: self-contained HTML pages (plotly.js inlined, no network) built from the marts.

- ``dx_kpi.html``: DX KPIs over time by 拠点 and the charter's milestones;
- ``population.html``: the population pyramid and population by town;
- ``once_only.html``: once-only opportunities (attachments and fields the city already held).

Each chart's container carries ``data-points`` (how many values it plots) so a browser test can check
that the chart drew what the marts hold.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.io import to_html

from onesource.core.lake import LAKE_ALIAS as L

FONT = dict(family="Noto Sans CJK JP, IPAGothic, IPAexGothic, sans-serif")
PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:'Noto Sans CJK JP','IPAGothic',sans-serif;margin:24px;color:#222;max-width:1200px}}
h1{{font-size:22px}} h2{{font-size:17px;margin-top:28px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px}} .note{{color:#666;font-size:12px}}
.chart{{width:100%;break-inside:avoid;page-break-inside:avoid}} .gap{{font-size:14px;margin:2px 0 18px}}
@media (max-width:700px){{body{{margin:8px}} h1{{font-size:18px}} td,th{{padding:2px 4px;font-size:12px}}}}
@media print{{body{{margin:0;max-width:none}} .chart{{margin-bottom:8mm}}}}</style>
{plotly}
</head><body>
<h1>{title}</h1><p class="note">市川市 OneSource ・ データ基準日 {as_of}</p>
{body}
<script>
/* after plotly has drawn: how many data points each chart shows (read by the browser test and by people) */
window.addEventListener("load", () => setTimeout(() => {{
  /* draw every chart at the width the page gives it (a narrow window, a printed page) */
  if (window.Plotly) document.querySelectorAll(".js-plotly-plot").forEach(d => Plotly.Plots.resize(d));
}}, 100));
window.addEventListener("load", () => setTimeout(() => {{
  document.querySelectorAll(".chart").forEach(c => {{
    c.dataset.drawn = c.querySelectorAll(".point").length;
    c.dataset.svg = c.querySelectorAll(".main-svg").length;
  }});
  /* does the page fit the window (a narrow window scrolls down, never sideways), each chart included */
  const wide = [...document.querySelectorAll(".main-svg")].some(s => s.getBoundingClientRect().right > window.innerWidth + 1);
  document.body.dataset.overflow = wide || document.documentElement.scrollWidth > window.innerWidth + 1 ? "yes" : "no";
  document.body.dataset.rendered = "yes";
}}, 500));
</script>
</body></html>"""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return f"<script>{get_plotlyjs()}</script>"


def _chart(fig: go.Figure, chart_id: str, points: int, after: str = "") -> str:
    """A chart that follows the window's width (and the printed page's), then ``after`` (HTML) below it."""
    fig.update_layout(font=FONT, margin=dict(l=60, r=20, t=50, b=50), height=fig.layout.height or 420,
                      autosize=True, legend=dict(orientation="h", y=-0.2))
    div = to_html(fig, include_plotlyjs=False, full_html=False, div_id=chart_id, default_width="100%",
                  config={"displayModeBar": False, "responsive": True})
    return f'<div class="chart" data-chart="{chart_id}" data-points="{points}">{div}{after}</div>'


def month_label(month: dt.date) -> str:
    """A month as people in the city read it: 2026年9月."""
    return f"{month.year}年{month.month}月"


def _months(fig: go.Figure, months: list[dt.date]) -> None:
    """Monthly figures on a month axis: one tick per month, labelled 2026年9月, in order."""
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[month_label(m) for m in months],
                     title_text="月")


def gap_in_words(label: str, value: float | None, target: float) -> str:
    """How far a milestone stands from its target, as a sentence."""
    if value is None:
        return f"{label}：実績がまだありません（目標 {target:.0%}）。"
    points = (value - target) * 100
    if points >= 0:
        return f"{label}：目標 {target:.0%} を達成（実績 {value:.1%}、目標を {points:.1f} ポイント上回る）。"
    return f"{label}：目標 {target:.0%} まであと {-points:.1f} ポイント（実績 {value:.1%}）。"


def symmetric_ticks(largest: float, ticks: int = 4) -> tuple[list[float], list[str]]:
    """Tick positions on both sides of zero, labelled with absolute values (a pyramid's two sides)."""
    raw = max(largest, 1) / ticks
    magnitude = 10 ** (len(str(int(raw))) - 1)
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    values = [step * i for i in range(-ticks, ticks + 1)]
    return values, [f"{abs(int(v)):,}" for v in values]


def _as_of(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(f"select max(delivered_on) from {L}.staging.stg_juki__residents").fetchone()
    return str(row[0]) if row and row[0] else "-"


def dx_kpi_page(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(f"select month, office, one_stop_rate, once_only_rate, online_share, median_lead_time_hours "
                       f"from {L}.marts.mart_dx_kpi_monthly order by month, office").fetchall()
    rows = [(r[0], r[1] or "拠点不明", *r[2:]) for r in rows]  # a procedure logged without its 拠点
    offices = sorted({r[1] for r in rows})
    months = sorted({r[0] for r in rows})
    charts = []
    for idx, (col, label, pct) in enumerate([(2, "ワンストップ率", True), (3, "ワンスオンリー率", True),
                                             (4, "オンライン申請率", True), (5, "処理時間の中央値（時間）", False)]):
        fig = go.Figure()
        n = 0
        for office in offices:
            pts = [(r[0], r[col]) for r in rows if r[1] == office and r[col] is not None]
            if pts:
                n += len(pts)
                fig.add_trace(go.Scatter(x=[month_label(p[0]) for p in pts], y=[p[1] for p in pts],
                                         mode="lines+markers", name=office))
        fig.update_layout(title=f"{label}（拠点別・月次）", yaxis_title=label, yaxis_tickformat=".0%" if pct else None)
        _months(fig, months)
        charts.append(_chart(fig, f"kpi{idx}", n))
    ms = con.execute(f"select month, milestone, value, target, status, is_latest from {L}.marts.mart_dx_milestones "
                     "order by month").fetchall()
    milestones = []
    for idx, name in enumerate(dict.fromkeys(m[1] for m in ms)):
        series = [m for m in ms if m[1] == name]
        latest = next((m for m in series if m[5]), series[-1])
        target = latest[3]
        fig = go.Figure(go.Scatter(x=[month_label(m[0]) for m in series], y=[m[2] for m in series],
                                   mode="lines+markers", name="実績（全拠点）"))
        fig.add_hline(y=target, line_dash="dash", line_color="#c0392b",
                      annotation_text=f"目標 {target:.0%}", annotation_position="top left")
        top = max([target, *[m[2] or 0 for m in series]])
        fig.update_layout(title=f"マイルストーン「{name}」：実績と目標", yaxis_tickformat=".0%", height=360,
                          yaxis_range=[0, min(1.0, top * 1.15) if top > 0 else 1.0])
        _months(fig, [m[0] for m in series])
        gap = gap_in_words(name, latest[2], target)
        milestones.append(_chart(fig, f"milestone{idx}", len(series), f'<p class="gap">{html.escape(gap)}</p>'))
    table = "<h2>DX推進計画のマイルストーン（最新月）</h2><table><tr><th>マイルストーン</th><th>月</th><th>実績</th>" \
            "<th>目標</th><th>状況</th></tr>" + "".join(
                f"<tr><td>{html.escape(n)}</td><td>{month_label(mo)}</td><td>{(v or 0):.1%}</td><td>{t:.0%}</td>"
                f"<td>{'達成' if st == 'achieved' else '取組中'}</td></tr>" for mo, n, v, t, st, last in ms if last) \
        + "</table>"
    return "".join(charts) + "<h2>DX推進計画のマイルストーン</h2>" + "".join(milestones) + table


def population_page(con: duckdb.DuckDBPyConnection) -> str:
    bands = con.execute(f"select age_band, age_band_start, sex, sum(population) from "
                        f"{L}.marts.mart_population_by_chome_age_sex group by all order by age_band_start").fetchall()
    order = sorted({(b[1], b[0]) for b in bands})
    labels = [o[1] for o in order]
    men = {b[0]: b[3] for b in bands if b[2] == "男"}
    women = {b[0]: b[3] for b in bands if b[2] == "女"}
    fig = go.Figure()
    fig.add_trace(go.Bar(y=labels, x=[-men.get(lb, 0) for lb in labels], orientation="h", name="男（左）",
                         customdata=[men.get(lb, 0) for lb in labels], hovertemplate="%{y} 男 %{customdata:,}人"))
    fig.add_trace(go.Bar(y=labels, x=[women.get(lb, 0) for lb in labels], orientation="h", name="女（右）",
                         hovertemplate="%{y} 女 %{x:,}人"))
    ticks, text = symmetric_ticks(max([*men.values(), *women.values(), 1]))
    fig.update_layout(title="人口ピラミッド（5歳階級・男女別）", barmode="relative", height=620,
                      xaxis=dict(title="人口（人）：左が男、右が女", tickvals=ticks, ticktext=text,
                                 range=[ticks[0], ticks[-1]]), yaxis_title="年齢")
    pyramid = _chart(fig, "pyramid", 2 * len(labels))
    towns = con.execute(f"select town, sum(population) as n from {L}.marts.mart_population_by_chome_age_sex "
                        "group by town order by n desc").fetchall()
    fig2 = go.Figure(go.Bar(x=[t[0] for t in towns], y=[t[1] for t in towns], name="人口"))
    fig2.update_layout(title="町名別人口", xaxis_title="町名", yaxis_title="人口（人）")
    return pyramid + _chart(fig2, "towns", len(towns))


def once_only_page(con: duckdb.DuckDBPyConnection) -> str:
    att = con.execute(f"select attachment, count(*), count(*) filter (where held_by_city) "
                      f"from {L}.marts.mart_once_only_attachments group by all order by 2 desc").fetchall()
    fig = go.Figure()
    fig.add_trace(go.Bar(x=[a[0] for a in att], y=[a[2] for a in att], name="市が保有（省略可能）"))
    fig.add_trace(go.Bar(x=[a[0] for a in att], y=[a[1] - a[2] for a in att], name="市が未保有"))
    fig.update_layout(title="補助金申請の添付書類：市が既に保有していた書類", barmode="stack", xaxis_title="添付書類",
                      yaxis_title="件数")
    fields = con.execute(f"select count(*), count(*) filter (where name_held), count(*) filter (where address_held),"
                         f" count(*) filter (where birth_date_held) from {L}.marts.mart_once_only_applications "
                         "where applicant_kind = 'kojin'").fetchone()
    fig2 = go.Figure(go.Bar(x=["氏名", "住所", "生年月日"], y=list(fields[1:]), name="事前入力できた申請"))
    fig2.update_layout(title=f"個人の申請 {fields[0]} 件のうち、市の保有情報で事前入力できた項目",
                       yaxis_title="申請数")
    kpi = con.execute(f"select month, sum(fields_already_held), sum(fields_entered) from "
                      f"{L}.marts.mart_dx_kpi_monthly group by month order by month").fetchall()
    fig3 = go.Figure(go.Bar(x=[month_label(k[0]) for k in kpi], y=[k[1] for k in kpi], name="再記入された既知項目"))
    fig3.update_layout(title="窓口手続で再記入された、市が既に保有していた項目数（月次）", yaxis_title="項目数")
    _months(fig3, [k[0] for k in kpi])
    return (_chart(fig, "attachments", 2 * len(att)) + _chart(fig2, "prefill", 3)
            + _chart(fig3, "reentered", len(kpi)))


PAGES = {
    "dx_kpi.html": ("DX推進 KPI ダッシュボード", dx_kpi_page),
    "population.html": ("人口ダッシュボード", population_page),
    "once_only.html": ("ワンスオンリー ダッシュボード", once_only_page),
}


def build(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, Path]:
    """Write every dashboard page under ``out``; returns page name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    js = _plotly_js()
    as_of = _as_of(con)
    written = {}
    for name, (title, render) in PAGES.items():
        page = PAGE.format(title=title, plotly=js, as_of=as_of, body=render(con))
        path = out / name
        path.write_text(page, encoding="utf-8")
        written[name] = path
    index = "<ul>" + "".join(f'<li><a href="{n}">{html.escape(t)}</a></li>' for n, (t, _r) in PAGES.items()) + "</ul>"
    (out / "index.html").write_text(PAGE.format(title="市川市 OneSource ダッシュボード", plotly="", as_of=as_of,
                                                body=index), encoding="utf-8")
    return written
