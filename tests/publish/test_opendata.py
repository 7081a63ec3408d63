"""Open data: the national layout, both encodings, the catalog, small areas merged, and a suppression that
no reader can undo, from one day's file or by differencing two consecutive days'."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

import numpy as np
import pytest

from core import lake
from publish.opendata import (
    Area,
    Table,
    area_code,
    catalog,
    charset,
    chome_number,
    determined,
    merge_small_areas,
    population_table,
    publish,
    read_population,
    recoverable,
    suppress,
)
from tests.publish.dcat_ap import violations
from tests.support.lakes import platform_at

# 地域・年齢別人口 as the 推奨データセット lays it out (the version the issue gives), written out here
STANDARD_COLUMNS = [
    "都道府県コード又は市区町村コード", "地域コード", "都道府県名", "市区町村名", "調査年月日", "地域名", "総人口", "男性", "女性",
    "0-4歳の男性", "0-4歳の女性", "5-9歳の男性", "5-9歳の女性", "10-14歳の男性", "10-14歳の女性",
    "15-19歳の男性", "15-19歳の女性", "20-24歳の男性", "20-24歳の女性", "25-29歳の男性", "25-29歳の女性",
    "30-34歳の男性", "30-34歳の女性", "35-39歳の男性", "35-39歳の女性", "40-44歳の男性", "40-44歳の女性",
    "45-49歳の男性", "45-49歳の女性", "50-54歳の男性", "50-54歳の女性", "55-59歳の男性", "55-59歳の女性",
    "60-64歳の男性", "60-64歳の女性", "65-69歳の男性", "65-69歳の女性", "70-74歳の男性", "70-74歳の女性",
    "75-79歳の男性", "75-79歳の女性", "80-84歳の男性", "80-84歳の女性", "85歳以上の男性", "85歳以上の女性",
    "世帯数", "備考",
]


@pytest.fixture(scope="module")
def published(built_city, tmp_path_factory):
    out = tmp_path_factory.mktemp("opendata")
    with platform_at(built_city, opendata_base_url="https://opendata.example.jp/api/"):
        con = lake.connect()
        files = publish(con, out)
        areas, as_of = read_population(con)
        truth = con.execute("select count(*) from lake.marts.dim_person where status = 'resident' and town is not null "
                            "and sex is not null and birth_year is not null").fetchone()[0]
        con.close()
    return files, areas, as_of, truth


def _read(path, encoding="utf-8-sig"):
    raw = path.read_bytes()
    if encoding == "utf-8-sig":
        assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))


def test_population_file_is_in_the_national_layout_in_both_encodings(published):
    files, _, as_of, _ = published
    rows = _read(files["population"])
    assert rows[0] == STANDARD_COLUMNS
    assert files["population"].name == "122033_chiiki_nenrei_betsu_jinko.csv"
    assert _read(files["population_sjis"], "cp932") == rows  # the same table, as Ichikawa publishes it today
    with pytest.raises(UnicodeDecodeError):
        files["population_sjis"].read_bytes().decode("utf-8")  # really Shift_JIS, not UTF-8 under another name
    for r in rows[1:]:
        assert r[0] == "122033" and r[2] == "千葉県" and r[3] == "市川市" and r[4] == as_of.isoformat()
    areas = rows[1:-1]
    assert [r[5] for r in rows[-1:]] == ["市川市"] and int(rows[-1][6]) > 3000
    codes = [r[1] for r in areas]
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(set(codes)) == len(codes)
    biz = _read(files["businesses"])
    assert biz[0] == ["都道府県コード又は市区町村コード", "地域コード", "都道府県名", "市区町村名", "調査年月日", "地域名", "業種",
                      "事業者数", "備考"]
    assert len(biz) > 5 and _read(files["businesses_sjis"], "cp932") == biz


def test_every_resident_is_counted_in_exactly_one_row(published):
    files, areas, _, truth = published
    rows = _read(files["population"])[1:]
    city = rows[-1]
    assert int(city[6]) == truth  # the city row counts every resident of the registry
    # each area of the marts is in exactly one published row: its own, or a merged one that names it
    covered = []
    for r in rows[:-1]:
        note = r[-1]
        if "（" in note:
            covered += note[note.index("（") + 1:note.index("）")].split("・")
        else:
            covered.append(r[5])
    names = sorted(a.name for a in areas)
    assert sorted(covered) == names
    merged = [r for r in rows[:-1] if r[-1]]
    assert merged, "the small test city has areas below the threshold: merging is exercised"
    visible = [int(r[6]) for r in rows[:-1] if r[6] != "X"]
    assert sum(visible) <= truth


def _file_equations(rows):
    """The sums a reader forms from the published file, written out independently of publish/opendata.py:
    per row 男性 bands = 男性, 女性 bands = 女性, 男性 + 女性 = 総人口; per column the areas = the city row."""
    n = len(STANDARD_COLUMNS) - 1  # 備考 is text
    eqs = []
    for r in range(len(rows)):
        eqs.append([(r, c) for c in range(9, n - 1, 2)] + [(r, 7)])
        eqs.append([(r, c) for c in range(10, n - 1, 2)] + [(r, 8)])
        eqs.append([(r, 7), (r, 8), (r, 6)])
    for c in range(6, n):
        eqs.append([(r, c) for r in range(len(rows) - 1)] + [(len(rows) - 1, c)])
    return eqs


def _exposed(eqs, hidden) -> list:
    """Hidden cells the sums determine (plain least-squares rank test, one unknown at a time)."""
    cells = sorted(hidden)
    index = {c: i for i, c in enumerate(cells)}
    m = np.zeros((len(eqs), len(cells)))
    for k, eq in enumerate(eqs):
        for i, c in enumerate(eq):
            if c in index:
                m[k, index[c]] += -1.0 if i == len(eq) - 1 else 1.0
    m = m[np.abs(m).sum(axis=1) > 0]
    rank = np.linalg.matrix_rank(m)
    out = []
    for c, i in index.items():
        without = np.delete(m, i, axis=1)  # the cell is determined iff dropping it lowers the rank by one
        if np.linalg.matrix_rank(without) < rank:
            out.append(c)
    return out


def test_no_small_cell_is_visible_and_no_suppressed_cell_follows_from_the_file(published):
    files = published[0]
    rows = _read(files["population"])[1:]
    hidden = {(r, c) for r, row in enumerate(rows) for c in range(6, len(STANDARD_COLUMNS) - 1) if row[c] == "X"}
    assert hidden, "the small city has small cells: the check is not vacuous"
    for row in rows:
        for v in row[6:-1]:
            assert v == "X" or not 1 <= int(v) <= 9
    assert _exposed(_file_equations(rows), hidden) == []


def _next_day(areas: list[Area], rng: random.Random, events: int) -> list[Area]:
    """The areas a day later: births, deaths and moves between areas, as a day's registry changes them."""
    out = [Area(a.name, a.town, a.chome, dict(a.counts), a.households) for a in areas]
    keys = [("0-4歳", "男性"), ("0-4歳", "女性")]
    for _ in range(events):
        kind = rng.choice(("birth", "death", "move"))
        a = rng.choice(out)
        if kind == "birth":
            k = rng.choice(keys)
            a.counts[k] = a.counts.get(k, 0) + 1
            continue
        held = [k for k, v in a.counts.items() if v > 0]
        if not held:
            continue
        k = rng.choice(held)
        a.counts[k] -= 1
        if kind == "move":
            b = rng.choice(out)
            b.counts[k] = b.counts.get(k, 0) + 1
    return out


def test_differencing_two_consecutive_days_recovers_no_suppressed_cell(published):
    _, areas, as_of, _ = published
    rng = random.Random(17)
    day1, _ = population_table(areas, as_of)
    day2_areas = _next_day(areas, rng, events=60)
    day2, _ = population_table(day2_areas, as_of + dt.timedelta(days=1))
    assert not recoverable(day1) and not recoverable(day2)
    # a reader lines the two files up by area and column and subtracts: the change of each cell is known
    # where both days show it, and unknown where either day hides it
    key1 = {(day1.rows[r][5], c): (r, c) for r, c in day1.numeric_cells()}
    key2 = {(day2.rows[r][5], c): (r, c) for r, c in day2.numeric_cells()}
    assert key1.keys() == key2.keys(), "the merging gave the same rows on both days"
    changed = sum(day1.value(key1[k]) != day2.value(key2[k]) for k in key1)
    assert changed > 20, "the days differ"
    hidden_either = {key2[k] for k in key1 if key1[k] in day1.suppressed} | set(day2.suppressed)
    assert hidden_either != set(day2.suppressed), "the patterns differ between the days: the check is not vacuous"
    assert _exposed(_file_equations([r[:-1] + [""] for r in day2.rows]), hidden_either) == []


def test_the_rank_audit_closes_what_single_sums_leave_open():
    # a + b = 10, a + c = 11, b + c = 13: every sum holds two hidden cells, yet together they give a = 4
    t = Table(header=["a", "b", "c", "t1", "t2", "t3"], rows=[[4, 6, 7, 10, 11, 13]], numeric=[0, 1, 2, 3, 4, 5])
    t.equations = [[(0, 0), (0, 1), (0, 3)], [(0, 0), (0, 2), (0, 4)], [(0, 1), (0, 2), (0, 5)]]
    t.suppressed = {(0, 0), (0, 1), (0, 2)}
    assert sorted(determined(t.equations, t.suppressed)) == [(0, 0), (0, 1), (0, 2)]
    suppress(t)
    assert {(0, 0), (0, 1), (0, 2)} <= t.suppressed and not recoverable(t)


def test_suppression_on_a_hand_made_grid():
    # two areas and a total row; area A has a single 3 in one column: primary + complements
    t = Table(header=["a", "x", "y", "t"], rows=[["A", 3, 40, 43], ["B", 20, 30, 50], ["計", 23, 70, 93]],
              numeric=[1, 2, 3])
    t.equations = [[(0, 1), (0, 2), (0, 3)], [(1, 1), (1, 2), (1, 3)], [(2, 1), (2, 2), (2, 3)],
                   [(0, 1), (1, 1), (2, 1)], [(0, 2), (1, 2), (2, 2)], [(0, 3), (1, 3), (2, 3)]]
    suppress(t)
    assert (0, 1) in t.suppressed and not recoverable(t)
    assert len(t.suppressed) >= 4  # a 3 in a 2x2 block needs its rectangle


def _area(name, town, n):
    return Area(name, town, chome_number(name, town), {("30-34歳", "男性"): n})


def test_small_areas_merge_with_a_neighbour_of_the_same_town_or_become_the_town():
    areas = [_area("八幡一丁目", "八幡", 500), _area("八幡二丁目", "八幡", 30), _area("八幡三丁目", "八幡", 40),
             _area("八幡四丁目", "八幡", 600), _area("原木一丁目", "原木", 20), _area("原木二丁目", "原木", 25),
             _area("大町", "大町", 12)]
    groups = {g.name: g for g in merge_small_areas(areas, minimum=100)}
    assert set(groups) == {"八幡一丁目・八幡二丁目・八幡三丁目", "八幡四丁目", "原木", "大町"}
    assert groups["原木"].whole_town and "原木一丁目・原木二丁目" in groups["原木"].note
    assert groups["大町"].note == ""  # a 町 without 丁目: its own row, small cells suppressed as any
    assert sum(g.residents for g in groups.values()) == sum(a.residents for a in areas)
    assert chome_number("八幡十二丁目", "八幡") == 12 and chome_number("八幡3丁目", "八幡") == 3


def test_area_codes_are_stable_and_an_official_list_drops_in():
    assert area_code("相之川", 1) == "000101" and area_code("新井", 3) == "000203"
    assert area_code("相之川", 1, {"相之川一丁目": "001001"}, "相之川一丁目") == "001001"


def test_catalog_is_dcat_ap_listing_both_encodings_where_the_api_serves_them(published):
    files = published[0]
    cat = json.loads(files["catalog"].read_text(encoding="utf-8"))
    assert cat["@type"] == "dcat:Catalog" and "dcat" in cat["@context"]
    assert cat["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
    assert violations(cat) == []
    assert cat["@id"] == "https://opendata.example.jp/api/v1/opendata/catalog"  # the setting, one slash
    by_id = {d["dct:identifier"]: d for d in cat["dcat:dataset"]}
    for key in ("population", "businesses"):
        ds = by_id[files[key].stem]
        assert ds["dct:accrualPeriodicity"]["@id"] == "http://publications.europa.eu/resource/authority/frequency/DAILY"
        assert ds["dcat:contactPoint"]["vcard:fn"] == "市川市 DX推進課"
        dists = ds["dcat:distribution"]
        assert {d["dct:title"] for d in dists} == {files[key].name, files[f"{key}_sjis"].name}
        assert {d["cnt:characterEncoding"] for d in dists} == {"UTF-8", "Shift_JIS"}
        for d in dists:
            url = f"https://opendata.example.jp/api/v1/opendata/files/{d['dct:title']}"
            assert d["dcat:downloadURL"] == {"@id": url} and d["dcat:accessURL"] == {"@id": url}
            assert d["dcat:mediaType"]["@id"] == "http://www.iana.org/assignments/media-types/text/csv"
            assert d["dct:format"]["@id"] == "http://publications.europa.eu/resource/authority/file-type/CSV"
            assert d["dcat:byteSize"]["@value"] == (files[key].parent / d["dct:title"]).stat().st_size > 0


def test_a_catalog_missing_a_mandatory_property_is_caught(tmp_path):
    """The SHACL check is no formality: each mandatory property removed is a violation naming it."""
    path = tmp_path / "122033_jigyosha_machi_gyoshu.csv"
    path.write_bytes("地域名,事業者数\r\n市川,3\r\n".encode("utf-8-sig"))
    cat = catalog({"businesses": ([path], dt.date(2026, 10, 7))}, dt.date(2026, 10, 7), "http://127.0.0.1:8000")
    assert violations(cat) == []
    dist = cat["dcat:dataset"][0]["dcat:distribution"][0]
    assert dist["dcat:accessURL"]["@id"] == "http://127.0.0.1:8000/v1/opendata/files/122033_jigyosha_machi_gyoshu.csv"
    for holder, prop in [(cat, "dct:publisher"), (cat["dcat:dataset"][0], "dct:title"),
                         (cat["dcat:dataset"][0], "dcat:contactPoint"), (dist, "dcat:accessURL")]:
        kept = holder.pop(prop)
        assert any(prop.split(":")[1] in v for v in violations(cat)), prop
        holder[prop] = kept
    dist["cnt:characterEncoding"] = "UTF-8 (BOM)"
    dist["dcat:mediaType"] = "text/csv"
    found = violations(cat)
    assert any("characterEncoding" in v for v in found) and any("mediaType" in v for v in found)


def test_the_charset_of_the_cp932_copy_is_named_by_what_it_holds():
    assert charset("市川".encode("cp932"), "cp932") == "Shift_JIS"
    assert charset("①髙".encode("cp932"), "cp932") == "Windows-31J"  # CP932's extensions: not plain Shift_JIS
    assert charset("市川".encode("utf-8-sig"), "utf-8-sig") == "UTF-8"


def test_published_tables_are_in_the_lake_too(published, city_home):
    con = lake.connect(read_only=True)
    rows = con.execute('select * from lake.opendata."122033_chiiki_nenrei_betsu_jinko"').fetchall()
    assert [list(r) for r in rows] == _read(published[0]["population"])[1:]
