"""The workbench's pages (Jinja2, autoescaped; plain HTML forms, no script)."""

from __future__ import annotations

import jinja2

BASE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} — 名寄せ審査 / OneSource</title>
<style>
body{font-family:"IPAGothic","Noto Sans CJK JP",sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}
header{background:#14365c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}header form{margin-left:auto}
main{padding:1rem;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #c9ced6;padding:.3rem .45rem;
text-align:left;vertical-align:top;font-size:.92rem}th{background:#e8ecf2}
.differ{background:#fff1d6}.agree{background:#e6f4ea}.null{color:#777}
.tag{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#e8ecf2;font-size:.85rem}
.conflict{background:#fde0dc}.score{background:#e3effc}
form.inline{display:inline}fieldset{background:#fff;border:1px solid #c9ced6;margin:1rem 0}
button{padding:.35rem .8rem;margin:.15rem}.err{color:#a00;font-weight:bold}
.pos{color:#0a6b2a}.neg{color:#a00}
@media (max-width:700px){td,th{font-size:.8rem}}
</style></head><body>
<header><strong>名寄せ審査 ワークベンチ</strong>
{% if operator %}<a href="queue?entity=person">人の審査待ち</a><a href="queue?entity=business">事業者の審査待ち</a>
<span>審査者: {{ operator }}</span>
<form method="post" action="logout"><input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit">サインアウト</button></form>{% endif %}
</header><main>{% block main %}{% endblock %}</main></body></html>"""

LOGIN = """{% extends "base" %}{% block title %}サインイン{% endblock %}{% block main %}
<h1>サインイン / Sign in</h1>
<p>データ基盤担当（名寄せ審査者）専用です。 For the data team's stewards only.</p>
{% if error %}<p class="err">{{ error }}</p>{% endif %}
<form method="post" action="login"><input type="hidden" name="csrf" value="{{ csrf }}">
<p><label>審査者名 / operator <input name="operator" autocomplete="username" required></label></p>
<p><label>パスワード / password <input name="password" type="password" autocomplete="current-password" required>
</label></p><button type="submit" id="signin">サインイン</button></form>{% endblock %}"""

QUEUE = """{% extends "base" %}{% block title %}審査待ち{% endblock %}{% block main %}
<h1>{{ '人' if entity == 'person' else '事業者' }}の審査待ち / review queue ({{ total }})</h1>
<form method="get" action="queue" id="filters"><input type="hidden" name="entity" value="{{ entity }}">
<label>システム <select name="system"><option value="">すべて</option>
{% for s in systems %}<option value="{{ s }}" {{ 'selected' if s == system }}>{{ s }}</option>{% endfor %}</select></label>
<label>理由 <select name="reason"><option value="">すべて</option>
{% for r in ('uncertain_score', 'key_conflict') %}<option value="{{ r }}" {{ 'selected' if r == reason }}>{{ r }}</option>
{% endfor %}</select></label>
<label>確率 <input name="min" size="4" value="{{ min_p if min_p is not none }}"> 〜
<input name="max" size="4" value="{{ max_p if max_p is not none }}"></label>
<label>表示 <select name="show"><option value="open">未決のみ</option>
<option value="all" {{ 'selected' if show == 'all' }}>判断済みも</option></select></label>
<button type="submit">絞り込む</button></form>
<p>並び順: 判断で動くレコードの多い組（影響）から、次にしきい値 {{ link }} に近い組。</p>
<table id="queue"><tr><th>影響</th><th>理由</th><th>確率</th><th>重み</th><th>レコード A</th><th>レコード B</th>
<th>判断</th><th></th></tr>
{% for r in rows %}<tr class="{{ 'conflict' if r.reason == 'key_conflict' else 'score' }}">
<td>{{ r.impact }}</td><td><span class="tag">{{ r.reason }}</span></td>
<td>{{ '%.3f' % r.match_probability if r.match_probability is not none else '—' }}</td>
<td>{{ '%.1f' % r.match_weight if r.match_weight is not none else '—' }}</td>
<td>{{ r.unique_id_l }}<br><small>{{ r.id_l }} ({{ r.size_l }})</small></td>
<td>{{ r.unique_id_r }}<br><small>{{ r.id_r }} ({{ r.size_r }})</small></td>
<td>{{ labels.get(r.decision, '') }}</td>
<td><a class="open-pair" href="pair?entity={{ entity }}&l={{ r.unique_id_l | urlencode }}&r={{ r.unique_id_r | urlencode }}">比較する</a></td>
</tr>{% else %}<tr><td colspan="8">審査待ちはありません。</td></tr>{% endfor %}</table>{% endblock %}"""

PAIR = """{% extends "base" %}{% block title %}比較{% endblock %}{% block main %}
<h1>2 件の比較 / a pair side by side</h1>
{% if p.queued %}<p>理由: <span class="tag">{{ p.queued.reason or 'uncertain_score' }}</span>
確率 {{ '%.4f' % p.queued.match_probability if p.queued.match_probability is not none else '—' }},
重み {{ '%.2f' % p.queued.match_weight if p.queued.match_weight is not none else '—' }}
{% if p.queued.reason == 'key_conflict' %}（{{ p.queued.suspect_key }} を共有するが、その他の証拠が矛盾する）{% endif %}</p>{% endif %}
<table id="pair"><tr><th>項目</th><th>A: {{ l.unique_id }}</th><th>B: {{ r.unique_id }}</th></tr>
<tr><th>ID（現在）</th><td><a href="cluster?id={{ l.id }}">{{ l.id }}</a></td><td><a href="cluster?id={{ r.id }}">{{ r.id }}</a></td></tr>
<tr><th>ファイル:行</th><td>{{ l.source_file }}:{{ l.source_line }}</td><td>{{ r.source_file }}:{{ r.source_line }}</td></tr>
{% for f in p.fields %}{% set a = l[f] %}{% set b = r[f] %}
<tr class="{{ 'null' if a is none or b is none else ('agree' if a == b else 'differ') }}"><th>{{ f }}（正規化）</th>
<td>{{ a if a is not none else '—' }}</td><td>{{ b if b is not none else '—' }}</td></tr>{% endfor %}
{% for k in raw_keys %}<tr><th>{{ k }}（届いた値）</th><td>{{ l.raw.get(k, '') }}</td><td>{{ r.raw.get(k, '') }}</td></tr>{% endfor %}
</table>
<h2>比較の水準と重み / comparison levels and match weights</h2>
<table id="levels"><tr><th>比較</th><th>該当した水準</th><th>重み (log2 m/u)</th></tr>
{% for v in p.levels %}<tr><td>{{ v.comparison }}</td><td>{{ v.level }}</td>
<td class="{{ 'pos' if v.weight and v.weight > 0 else 'neg' }}">{{ '%.2f' % v.weight if v.weight is not none else '（欠損: 0）' }}</td></tr>
{% endfor %}</table><p><small>用語頻度による調整の前の重み。</small></p>
<form method="post" action="decide" id="decide"><fieldset><legend>判断 / decision</legend>
<input type="hidden" name="csrf" value="{{ csrf }}"><input type="hidden" name="entity" value="{{ p.entity }}">
<input type="hidden" name="l" value="{{ l.unique_id }}"><input type="hidden" name="r" value="{{ r.unique_id }}">
<p><label>理由 / reason <input name="note" size="60" required></label></p>
<button name="decision" value="same" id="same">同一 / same</button>
<button name="decision" value="different" id="different">別 / different</button>
<button name="decision" value="unsure" id="unsure">保留 / unsure</button>
{% if p.decisions %}<button name="decision" value="undo" id="undo">直前の判断を取り消す / undo</button>{% endif %}
</fieldset></form>
<h2>この組の判断 / decisions on this pair</h2><ul id="pair-decisions">
{% for d in p.decisions %}<li>{{ labels.get(d.decision, d.decision) }} — {{ d.reviewer }}: {{ d.note or '' }} ({{ d.decided_at }})</li>
{% else %}<li>まだありません。</li>{% endfor %}</ul>{% endblock %}"""

CLUSTER = """{% extends "base" %}{% block title %}{{ x.entity_id }}{% endblock %}{% block main %}
<h1>{{ x.entity_id }} がまとまっている理由 / why these records are together</h1>
{% if x.winners %}<table id="golden"><tr><th>項目</th><th>値</th><th>採用元</th></tr>
{% for f, v, src in x.winners %}<tr><td>{{ f }}</td><td>{{ v if v is not none else '—' }}</td><td>{{ src or '—' }}</td></tr>{% endfor %}
</table>{% endif %}
<form method="post" action="split" id="split"><input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="id" value="{{ x.entity_id }}">
<h2>レコード ({{ x.records | length }})</h2><table id="records"><tr><th>分ける</th><th>レコード</th><th>ファイル:行</th>
{% for f in fields %}<th>{{ f }}</th>{% endfor %}</tr>
{% for rec in x.records %}<tr><td><input type="checkbox" name="records" value="{{ rec.unique_id }}"></td>
<td>{{ rec.unique_id }}</td><td>{{ rec.source_file }}:{{ rec.source_line }}</td>
{% for f in fields %}<td>{{ rec[f] if rec[f] is not none else '' }}</td>{% endfor %}</tr>{% endfor %}</table>
<p><label>理由 / reason <input name="note" size="60" required></label>
<button type="submit" id="split-button">選んだレコードを別にする / split off</button></p></form>
<h2>つながり / edges ({{ x.edges | length }})</h2><table id="edges"><tr><th>A</th><th>B</th><th>種類</th><th>確率</th><th>重み</th></tr>
{% for e in x.edges %}<tr><td>{{ e.unique_id_l }}</td><td>{{ e.unique_id_r }}</td>
<td>{{ e.edge }}{{ ' ' ~ e.key_column if e.key_column }}</td>
<td>{{ '%.4f' % e.match_probability if e.match_probability is not none else '—' }}</td>
<td>{{ e.match_weight if e.match_weight is not none else '—' }}</td></tr>{% endfor %}</table>
<h2>衝突として拒否したキー / key links refused</h2><ul id="refused">
{% for k in x.refused %}<li>{{ k.unique_id }}（{{ k.record_id }}）の {{ k.key_column }}={{ k.key_value }} は
{{ k.anchor_unique_id }}（{{ k.anchor_id }}）のもの。証拠の重み {{ k.evidence_weight }}
<a href="pair?entity={{ x.entity }}&l={{ k.unique_id | urlencode }}&r={{ k.anchor_unique_id | urlencode }}">比較する</a></li>
{% else %}<li>ありません。</li>{% endfor %}</ul>
<h2>判断 / reviewers' decisions</h2><ul id="decisions">
{% for d in x.decisions %}<li>{{ d.unique_id_l }} — {{ d.unique_id_r }}: {{ labels.get(d.decision, d.decision) }} —
{{ d.reviewer }}: {{ d.note or '' }} ({{ d.decided_at }})</li>{% else %}<li>ありません。</li>{% endfor %}</ul>
<h2>ID の履歴 / id history</h2><ul id="history">
{% for h in x.history %}<li>{{ h.run_id }}: {{ h.event }}{% if h.unique_id %} {{ h.unique_id }}
{{ h.related_id }} → {{ h.entity_id }}{% else %} {{ h.entity_id }} {{ h.related_id or '' }}{% endif %}
— {{ '審査者の判断による / by a reviewer' if h.cause == 'reviewer' else '名寄せ / linkage' }} ({{ h.recorded_at }})</li>
{% endfor %}</ul>{% for n in x.notes %}<p>{{ n }}</p>{% endfor %}{% endblock %}"""

MESSAGE = """{% extends "base" %}{% block title %}{{ title }}{% endblock %}{% block main %}
<h1>{{ title }}</h1><p class="err">{{ message }}</p><p><a href="queue?entity=person">審査待ちへ</a></p>{% endblock %}"""

ENV = jinja2.Environment(loader=jinja2.DictLoader({"base": BASE, "login": LOGIN, "queue": QUEUE, "pair": PAIR,
                                                   "cluster": CLUSTER, "message": MESSAGE}),
                         autoescape=True)


def render(name: str, **context) -> str:
    context.setdefault("operator", None)
    context.setdefault("csrf", "")
    return ENV.get_template(name).render(**context)
