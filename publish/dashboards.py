"""Dashboards: self-contained HTML pages (plotly.js inlined, no network) built from the marts.

- ``dx_kpi.html``: DX KPIs over time by 拠点 and the charter's milestones;
- ``population.html``: the population pyramid and population by town;
- ``once_only.html``: once-only opportunities (attachments and fields the city already held).

Each chart's container carries ``data-points`` (how many values it plots) so a browser test can check
that the chart drew what the marts hold.
"""

from __future__ import annotations

import html
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.io import to_html

from onesource.core.lake import LAKE_ALIAS as L

FONT = dict(family="Noto Sans CJK JP, IPAGothic, IPAexGothic, sans-serif")
PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:'Noto Sans CJK JP','IPAGothic',sans-serif;margin:24px;color:#222}} h1{{font-size:22px}}
h2{{font-size:17px;margin-top:28px}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 10px}}
.note{{color:#666;font-size:12px}}</style>
{plotly}
</head><body>
<h1>{title}</h1><p class="note">市川市 OneSource ・ データ基準日 {as_of}</p>
{body}
<script>
/* after plotly has drawn: how many data points each chart shows (read by the browser test and by people) */
window.addEventListener("load", () => setTimeout(() => {{
  document.querySelectorAll(".chart").forEach(c => {{
    c.dataset.drawn = c.querySelectorAll(".point").length;
    c.dataset.svg = c.querySelectorAll(".main-svg").length;
  }});
  document.body.dataset.rendered = "yes";
}}, 500));
</script>
</body></html>"""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return f"<script>{get_plotlyjs()}</script>"


def _chart(fig: go.Figure, chart_id: str, points: int) -> str:
    fig.update_layout(font=FONT, margin=dict(l=60, r=20, t=50, b=50), height=420)
    div = to_html(fig, include_plotlyjs=False, full_html=False, div_id=chart_id, config={"displayModeBar": False})
    return f'<div class="chart" data-chart="{chart_id}" data-points="{points}">{div}</div>'


def _as_of(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(f"select max(delivered_on) from {L}.staging.stg_juki__residents").fetchone()
    return str(row[0]) if row and row[0] else "-"


def dx_kpi_page(con: duckdb.DuckDBPyConnection) -> str:
    rows = con.execute(f"select month, office, one_stop_rate, once_only_rate, online_share, median_lead_time_hours "
                       f"from {L}.marts.mart_dx_kpi_monthly order by month, office").fetchall()
    offices = sorted({r[1] for r in rows})
    charts = []
    for idx, (col, label, pct) in enumerate([(2, "ワンストップ率", True), (3, "ワンスオンリー率", True),
                                             (4, "オンライン申請率", True), (5, "処理時間の中央値（時間）", False)]):
        fig = go.Figure()
        n = 0
        for office in offices:
            pts = [(r[0], r[col]) for r in rows if r[1] == office and r[col] is not None]
            if pts:
                n += len(pts)
                fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                         name=office))
        fig.update_layout(title=f"{label}（拠点別・月次）", xaxis_title="月", yaxis_title=label,
                          yaxis_tickformat=".0%" if pct else None)
        charts.append(_chart(fig, f"kpi{idx}", n))
    ms = con.execute(f"select milestone, kpi, value, target, status from {L}.marts.mart_dx_milestones").fetchall()
    table = "<h2>DX推進計画のマイルストーン（最新月）</h2><table><tr><th>マイルストーン</th><th>指標</th><th>実績</th>" \
            "<th>目標</th><th>状況</th></tr>" + "".join(
                f"<tr><td>{html.escape(m)}</td><td>{html.escape(k)}</td><td>{(v or 0):.1%}</td><td>{t:.0%}</td>"
                f"<td>{'達成' if s == 'achieved' else '取組中'}</td></tr>" for m, k, v, t, s in ms) + "</table>"
    return "".join(charts) + table


def population_page(con: duckdb.DuckDBPyConnection) -> str:
    bands = con.execute(f"select age_band, age_band_start, sex, sum(population) from "
                        f"{L}.marts.mart_population_by_chome_age_sex group by all order by age_band_start").fetchall()
    order = sorted({(b[1], b[0]) for b in bands})
    labels = [o[1] for o in order]
    men = {b[0]: b[3] for b in bands if b[2] == "男"}
    women = {b[0]: b[3] for b in bands if b[2] == "女"}
    fig = go.Figure()
    fig.add_trace(go.Bar(y=labels, x=[-men.get(lb, 0) for lb in labels], orientation="h", name="男",
                         customdata=[men.get(lb, 0) for lb in labels], hovertemplate="%{y} 男 %{customdata}人"))
    fig.add_trace(go.Bar(y=labels, x=[women.get(lb, 0) for lb in labels], orientation="h", name="女",
                         hovertemplate="%{y} 女 %{x}人"))
    fig.update_layout(title="人口ピラミッド（5歳階級・男女別）", barmode="relative", xaxis_title="人口（人）",
                      yaxis_title="年齢", height=620)
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
    fig3 = go.Figure(go.Bar(x=[k[0] for k in kpi], y=[k[1] for k in kpi], name="再記入された既知項目"))
    fig3.update_layout(title="窓口手続で再記入された、市が既に保有していた項目数（月次）", xaxis_title="月",
                       yaxis_title="項目数")
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
