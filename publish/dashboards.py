"""Dashboards: self-contained HTML pages (plotly.js inlined, no network) built from the marts.

- ``dx_kpi.html``: DX KPIs over time by 拠点 and the charter's milestones;
- ``population.html``: the population pyramid and population by town;
- ``once_only.html``: once-only opportunities (attachments and fields the city already held).

Pages that tell the truth:
- a month the front-desk log holds only in part (its first or last month) is a *partial period*: its tick
  names the days it holds, it is shaded and labelled 一部期間, and its points are open markers kept apart;
- a series is joined into a line only over at least ``MIN_TREND_PERIODS`` full months; fewer are points;
- every rate shows its n: in the hover and in a table under the chart (numerator/denominator);
- titles are HTML headings, which wrap in a narrow window (plotly's SVG titles are cut off).

Each chart's container carries ``data-points`` (how many values it plots) so a browser test can check
that the chart drew what the marts hold.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.io import to_html

from core.lake import LAKE_ALIAS as L

FONT = dict(family="Noto Sans CJK JP, IPAGothic, IPAexGothic, sans-serif")
PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:'Noto Sans CJK JP','IPAGothic',sans-serif;margin:24px;color:#222;max-width:1200px}}
h1{{font-size:22px}} h2{{font-size:17px;margin-top:28px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 10px}} .note{{color:#666;font-size:12px}}
.chart{{width:100%;break-inside:avoid;page-break-inside:avoid}} .gap{{font-size:14px;margin:2px 0 18px}}
h3.chart-title{{font-size:16px;margin:24px 0 0;overflow-wrap:anywhere}} .scroll{{max-width:100%;overflow-x:auto}}
table.n{{font-size:13px;margin:4px 0}} table.n td{{text-align:right;white-space:nowrap}}
table.n td.partial{{background:#eee;font-style:italic}}
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


def _chart(fig: go.Figure, chart_id: str, points: int, after: str = "", title: str = "") -> str:
    """A chart that follows the window's width (and the printed page's), then ``after`` (HTML) below it.

    The title is an HTML heading above the chart, not plotly's: plotly draws a title on one line of SVG and
    cuts it off in a narrow window, where a heading wraps."""
    fig.update_layout(font=FONT, margin=dict(l=60, r=20, t=30, b=50), height=fig.layout.height or 420,
                      autosize=True, legend=dict(orientation="h", y=-0.2), title=None, template="plotly_white")
    div = to_html(fig, include_plotlyjs=False, full_html=False, div_id=chart_id, default_width="100%",
                  config={"displayModeBar": False, "responsive": True})
    heading = f'<h3 class="chart-title">{html.escape(title)}</h3>' if title else ""
    return f'<div class="chart" data-chart="{chart_id}" data-points="{points}">{heading}{div}{after}</div>'


def month_label(month: dt.date) -> str:
    """A month as people in the city read it: 2026年9月."""
    return f"{month.year}年{month.month}月"


@dataclass(frozen=True)
class Coverage:
    """The days the front-desk log holds: a month outside [first, last] in part is a partial period."""

    first: dt.date
    last: dt.date

    def days(self, month: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day of ``month`` the log covers."""
        end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return max(month, self.first), min(end, self.last)

    def partial(self, month: dt.date) -> bool:
        end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        return self.first > month or self.last < end

    def note(self, month: dt.date) -> str:
        """What a partial month holds, in words: 10月1日〜7日のみ."""
        a, b = self.days(month)
        return f"{a.month}月{a.day}日〜{b.day}日のみ"


def coverage(con: duckdb.DuckDBPyConnection) -> Coverage | None:
    """The log's first day (its first procedure) and its last (the newest delivery's date)."""
    row = con.execute(f"select min(received_at)::date, greatest(max(received_at)::date, max(delivered_on)) "
                      f"from {L}.staging.stg_madoguchi__procedures where received_at is not null").fetchone()
    return Coverage(row[0], row[1]) if row and row[0] else None


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


# a series of fewer full periods than this is drawn as points, never joined into a line: two points make no trend
MIN_TREND_PERIODS = 3
PARTIAL_FILL = "rgba(120,120,120,0.16)"
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
PARTIAL_BAR_NOTE = "網掛けの月はデータが一部の日しかない月（速報値、斜線の棒）。ほかの月と同じ長さの期間ではない。"
TREND_NOTE = (f"網掛けの月はデータが一部の日しかない月（速報値、白抜きの点）。線は完全な月が{MIN_TREND_PERIODS}か月以上ある"
              "系列にだけ引き、それ未満は点のみ。括弧内は分子/分母（n）。")


def _months(fig: go.Figure, months: list[dt.date], cov: Coverage | None = None) -> None:
    """Monthly figures on a month axis: one tick per month, labelled 2026年9月, in order; a partial month
    says which days it holds and is shaded."""
    labels = [month_label(m) for m in months]
    ticks = [f"{lb}<br>（{cov.note(m)}）" if cov and cov.partial(m) else lb for lb, m in zip(labels, months)]
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels, tickmode="array",
                     tickvals=labels, ticktext=ticks, title_text="月", range=[-0.5, len(labels) - 0.5])
    for i, m in enumerate(months):
        if cov and cov.partial(m):
            fig.add_vrect(x0=i - 0.5, x1=i + 0.5, fillcolor=PARTIAL_FILL, line_width=0, layer="below",
                          annotation_text="一部期間", annotation_position="top left",
                          annotation_font=dict(size=11, color="#555"))


def _rate_traces(fig: go.Figure, name: str, color: str, pts: list[tuple], cov: Coverage | None,
                 pct: bool, unit: str) -> None:
    """One series as traces: full months joined by a line only when there are enough of them, partial months
    as open points apart. ``pts``: (month, value, numerator, n); the hover names the n of every point."""
    def partial(m):
        return bool(cov and cov.partial(m))

    value = "%{y:.1%}" if pct else "%{y:.1f}"
    count = f"（%{{customdata[0]:,}}/%{{customdata[1]:,}}{unit}）" if pct else f"（n = %{{customdata[1]:,}}{unit}）"
    full = [p for p in pts if not partial(p[0])]
    part = [p for p in pts if partial(p[0])]
    for group, is_partial in ((full, False), (part, True)):
        if not group:
            continue
        joined = not is_partial and len(group) >= MIN_TREND_PERIODS
        note = "（一部期間の速報値）" if is_partial else ""
        fig.add_trace(go.Scatter(
            x=[month_label(p[0]) for p in group], y=[p[1] for p in group],
            customdata=[[p[2], p[3]] for p in group], mode="lines+markers" if joined else "markers",
            name=name, legendgroup=name, showlegend=not is_partial or not full,
            line=dict(color=color), marker=dict(color=color, size=9, symbol="circle-open" if is_partial else "circle",
                                                line=dict(width=2, color=color)),
            hovertemplate=f"{html.escape(name)}<br>%{{x}}{note}<br>{value}{count}<extra></extra>"))


def _cell(value: float | None, k: int | None, n: int | None, pct: bool, unit: str) -> str:
    if value is None:
        return "—"
    if pct:
        return f"{value:.1%}（{k:,}/{n:,}{unit}）"
    return f"{value:.1f}（n = {n:,}{unit}）"


def _n_table(rows: dict[str, dict[dt.date, tuple]], months: list[dt.date], cov: Coverage | None, pct: bool,
             unit: str) -> str:
    """Every plotted value with its n, month by month: what the chart shows, readable without hovering."""
    head = "".join(f"<th>{month_label(m)}" + (f"<br><small>{cov.note(m)}</small>" if cov and cov.partial(m) else "")
                   + "</th>" for m in months)
    body = "".join(f"<tr><th>{html.escape(name)}</th>" + "".join(
        f'<td class="{"partial" if cov and cov.partial(m) else "full"}">'
        f"{html.escape(_cell(*(series.get(m) or (None, None, None)), pct, unit))}</td>" for m in months) + "</tr>"
        for name, series in rows.items())
    return f'<div class="scroll"><table class="n"><tr><th></th>{head}</tr>{body}</table></div>'


# each KPI: its mart column, label, whether it is a rate, the numerator and n (mart columns or SQL), n's unit
KPIS = [
    ("one_stop_rate", "ワンストップ率", True, "one_stop_cases", "window_cases_finished", "件"),
    ("once_only_rate", "ワンスオンリー率", True, "fields_entered - fields_already_held", "fields_entered", "項目"),
    ("online_share", "オンライン申請率", True, "online_procedures", "procedures", "件"),
    ("median_lead_time_hours", "処理時間の中央値（時間）", False, "0", "completed", "件"),
]
MILESTONE_N = {kpi: (num, den, unit) for kpi, _l, _p, num, den, unit in KPIS}


def dx_kpi_page(con: duckdb.DuckDBPyConnection) -> str:
    cov = coverage(con)
    completed = {(r[0], r[1] or "拠点不明"): r[2] for r in con.execute(
        f"select date_trunc('month', received_at)::date, office, count(*) filter (where completed_at is not null) "
        f"from {L}.staging.stg_madoguchi__procedures where received_at is not null group by all").fetchall()}
    charts = []
    for idx, (col, label, pct, num, den, unit) in enumerate(KPIS):
        den_sql = "0" if den == "completed" else den
        rows = con.execute(f"select month, office, {col}, {num}, {den_sql} from {L}.marts.mart_dx_kpi_monthly "
                           "order by month, office").fetchall()
        rows = [(r[0], r[1] or "拠点不明", *r[2:]) for r in rows]  # a procedure logged without its 拠点
        if den == "completed":
            rows = [(m, o, v, 0, completed.get((m, o), 0)) for m, o, v, _k, _n in rows]
        offices = sorted({r[1] for r in rows})
        months = sorted({r[0] for r in rows})
        fig = go.Figure()
        n = 0
        table: dict[str, dict[dt.date, tuple]] = {}
        for i, office in enumerate(offices):
            pts = [(r[0], r[2], r[3], r[4]) for r in rows if r[1] == office and r[2] is not None]
            if pts:
                n += len(pts)
                _rate_traces(fig, office, COLORS[i % len(COLORS)], pts, cov, pct, unit)
                table[office] = {p[0]: (p[1], p[2], p[3]) for p in pts}
        fig.update_layout(yaxis_title=label, yaxis_tickformat=".0%" if pct else None)
        _months(fig, months, cov)
        after = _n_table(table, months, cov, pct, unit) + f'<p class="note">{TREND_NOTE}</p>'
        charts.append(_chart(fig, f"kpi{idx}", n, after, title=f"{label}（拠点別・月次、括弧内は件数）"))
    ms = con.execute(f"select month, milestone, value, target, status, is_latest, kpi from {L}.marts.mart_dx_milestones "
                     "order by month").fetchall()
    counts = {}
    for kpi, (num, den, _unit) in MILESTONE_N.items():
        if den != "completed":
            for month, k, d in con.execute(f"select month, sum({num}), sum({den}) from {L}.marts.mart_dx_kpi_monthly "
                                           "group by month").fetchall():
                counts[(kpi, month)] = (int(k or 0), int(d or 0))
    milestones = []
    for idx, name in enumerate(dict.fromkeys(m[1] for m in ms)):
        series = [m for m in ms if m[1] == name]
        latest = next((m for m in series if m[5]), series[-1])
        target, kpi = latest[3], latest[6]
        unit = MILESTONE_N.get(kpi, ("", "", "件"))[2]
        fig = go.Figure()
        pts = [(m[0], m[2], *counts.get((kpi, m[0]), (0, 0))) for m in series if m[2] is not None]
        _rate_traces(fig, "実績（全拠点）", COLORS[0], pts, cov, True, unit)
        fig.add_hline(y=target, line_dash="dash", line_color="#c0392b",
                      annotation_text=f"目標 {target:.0%}", annotation_position="bottom right")
        top = max([target, *[m[2] or 0 for m in series]])
        fig.update_layout(yaxis_tickformat=".0%", height=360,
                          yaxis_range=[0, min(1.05, top * 1.15) if top > 0 else 1.0])  # a point at 100% stays inside
        months = [m[0] for m in series]
        _months(fig, months, cov)
        gap = gap_in_words(name, latest[2], target)
        if cov and cov.partial(latest[0]):
            gap += f"（{month_label(latest[0])}は{cov.note(latest[0])}の速報値）"
        table = _n_table({"実績（全拠点）": {p[0]: (p[1], p[2], p[3]) for p in pts}}, months, cov, True, unit)
        milestones.append(_chart(fig, f"milestone{idx}", len(pts), f'<p class="gap">{html.escape(gap)}</p>{table}',
                                 title=f"マイルストーン「{name}」：実績と目標"))

    def period(mo: dt.date) -> str:
        return month_label(mo) + (f"（{cov.note(mo)}・速報）" if cov and cov.partial(mo) else "")

    def n_of(kpi: str, mo: dt.date) -> str:
        k, d = counts.get((kpi, mo), (0, 0))
        return f"{k:,}/{d:,}{MILESTONE_N.get(kpi, ('', '', '件'))[2]}"

    table = "<h2>DX推進計画のマイルストーン（最新月）</h2><div class=\"scroll\"><table><tr><th>マイルストーン</th>" \
            "<th>月</th><th>実績</th><th>件数（分子/分母）</th><th>目標</th><th>状況</th></tr>" + "".join(
                f"<tr><td>{html.escape(n)}</td><td>{period(mo)}</td><td>{(v or 0):.1%}</td><td>{n_of(kpi, mo)}</td>"
                f"<td>{t:.0%}</td><td>{'達成' if st == 'achieved' else '取組中'}</td></tr>"
                for mo, n, v, t, st, last, kpi in ms if last) + "</table></div>"
    span = (f'<p class="note">窓口受付記録の期間：{cov.first.isoformat()}〜{cov.last.isoformat()}'
            f'（この期間外の日は集計に含まれない）</p>' if cov else "")
    return span + "".join(charts) + "<h2>DX推進計画のマイルストーン</h2>" + "".join(milestones) + table


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
    fig.update_layout(barmode="relative", height=620,
                      xaxis=dict(title="人口（人）：左が男、右が女", tickvals=ticks, ticktext=text,
                                 range=[ticks[0], ticks[-1]]), yaxis_title="年齢")
    total = sum(men.values()) + sum(women.values())
    pyramid = _chart(fig, "pyramid", 2 * len(labels), title=f"人口ピラミッド（5歳階級・男女別、{total:,}人）")
    towns = con.execute(f"select town, sum(population) as n from {L}.marts.mart_population_by_chome_age_sex "
                        "group by town order by n desc").fetchall()
    fig2 = go.Figure(go.Bar(x=[t[0] for t in towns], y=[t[1] for t in towns], name="人口"))
    fig2.update_layout(xaxis_title="町名", yaxis_title="人口（人）")
    return pyramid + _chart(fig2, "towns", len(towns), title="町名別人口")


def once_only_page(con: duckdb.DuckDBPyConnection) -> str:
    att = con.execute(f"select attachment, count(*), count(*) filter (where held_by_city) "
                      f"from {L}.marts.mart_once_only_attachments group by all order by 2 desc").fetchall()
    fig = go.Figure()
    fig.add_trace(go.Bar(x=[a[0] for a in att], y=[a[2] for a in att], name="市が保有（省略可能）"))
    fig.add_trace(go.Bar(x=[a[0] for a in att], y=[a[1] - a[2] for a in att], name="市が未保有"))
    fig.update_layout(barmode="stack", xaxis_title="添付書類",
                      yaxis_title="件数")
    fields = con.execute(f"select count(*), count(*) filter (where name_held), count(*) filter (where address_held),"
                         f" count(*) filter (where birth_date_held) from {L}.marts.mart_once_only_applications "
                         "where applicant_kind = 'kojin'").fetchone()
    fig2 = go.Figure(go.Bar(x=["氏名", "住所", "生年月日"], y=list(fields[1:]), name="事前入力できた申請"))
    fig2.update_layout(yaxis_title="申請数")
    kpi = con.execute(f"select month, sum(fields_already_held), sum(fields_entered) from "
                      f"{L}.marts.mart_dx_kpi_monthly group by month order by month").fetchall()
    cov = coverage(con)
    partial = [bool(cov and cov.partial(k[0])) for k in kpi]
    fig3 = go.Figure(go.Bar(
        x=[month_label(k[0]) for k in kpi], y=[k[1] for k in kpi], name="再記入された既知項目",
        customdata=[[k[2], cov.note(k[0]) if p else "全期間"] for k, p in zip(kpi, partial)],
        marker=dict(color=["rgba(31,119,180,0.35)" if p else "#1f77b4" for p in partial],
                    line=dict(color="#1f77b4", width=1.5), pattern=dict(shape=["/" if p else "" for p in partial])),
        hovertemplate="%{x}（%{customdata[1]}）<br>再記入 %{y:,}項目 / 記入 %{customdata[0]:,}項目<extra></extra>"))
    fig3.update_layout(yaxis_title="項目数")
    _months(fig3, [k[0] for k in kpi], cov)
    return (_chart(fig, "attachments", 2 * len(att), title="補助金申請の添付書類：市が既に保有していた書類（件数）")
            + _chart(fig2, "prefill", 3, title=f"個人の申請 {fields[0]:,} 件のうち、市の保有情報で事前入力できた項目")
            + _chart(fig3, "reentered", len(kpi), f'<p class="note">{PARTIAL_BAR_NOTE}</p>',
                     title="窓口手続で再記入された、市が既に保有していた項目数（月次）"))


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
