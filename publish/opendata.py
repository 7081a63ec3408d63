"""Open data in the Digital Agency's 自治体標準オープンデータセット layouts, under a disclosure-control policy.

地域・年齢別人口 follows the 推奨データセット's layout: one row per published area (町丁目, merged 丁目 or 町)
and a city row; 総人口, 男性, 女性, each 5-year band by sex up to 85歳以上, 世帯数 and 備考.

Disclosure control (the README gives the reasons):
1. **Small areas are merged, not blanked.** A 丁目 with fewer than ``MIN_AREA_RESIDENTS`` residents is merged
   with its smaller neighbouring 丁目 of the same 町 (by number), again until every group is large enough; where
   the whole 町 is too small it is reported as the 町. Every resident is counted in exactly one row, and 備考
   names the areas a merged row holds.
2. **Remaining small cells are suppressed**: cells of 1 to ``MAX_SMALL_CELL`` persons (or households), then
   complementary cells until no published cell can be computed from the visible ones: first every published
   sum keeps zero or at least two suppressed cells, then an audit over all the sums together (the linear
   system a reader can form) finds no suppressed cell it determines.

Areas carry a 地域コード: the official list when a drop-in file is configured
(``ONESOURCE_OPENDATA_AREA_CODES_FILE``), else a stable code derived from the town list (see ``area_code``).
Files are CSV in UTF-8 with BOM and in Shift_JIS (CP932), named 122033_..., described by a DCAT-AP catalog
(JSON-LD) under CC BY 4.0, and also kept in the lake's ``opendata`` schema.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

from core.lake import LAKE_ALIAS as L
from core.towns import CITY, LG_CODE, PREFECTURE, load_towns

log = logging.getLogger(__name__)

SUPPRESSED = "X"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
BANDS = [f"{a}-{a + 4}歳" for a in range(0, 85, 5)] + ["85歳以上"]
SEXES = ("男性", "女性")
MIN_AREA_RESIDENTS = 300  # a 丁目 below this is merged with a neighbouring 丁目 (policy: README, open data)
MAX_SMALL_CELL = 9  # cells of 1..9 persons or households are suppressed
POPULATION_HEADER = ["都道府県コード又は市区町村コード", "地域コード", "都道府県名", "市区町村名", "調査年月日", "地域名",
                     "総人口", "男性", "女性", *[f"{b}の{s}" for b in BANDS for s in SEXES], "世帯数", "備考"]
BUSINESS_HEADER = ["都道府県コード又は市区町村コード", "地域コード", "都道府県名", "市区町村名", "調査年月日", "地域名",
                   "業種", "事業者数", "備考"]
_KANJI = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def chome_number(area_name: str, town: str) -> int:
    """The 丁目 of ``area_name`` (八幡三丁目 -> 3, 八幡十二丁目 -> 12); 0 when it names the 町 alone."""
    rest = area_name[len(town):] if area_name.startswith(town) else ""
    if not rest.endswith("丁目"):
        return 0
    digits = rest[:-2]
    if digits.isdigit():
        return int(digits)
    tens, _, ones = digits.rpartition("十")
    if "十" in digits:
        return (_KANJI.get(tens, 1) if tens else 1) * 10 + (_KANJI.get(ones, 0) if ones else 0)
    return _KANJI.get(digits, 0)


def area_code(town: str, chome: int, official: dict[str, str] | None = None, name: str | None = None) -> str:
    """地域コード of a 町丁目: the official code where a drop-in list gives one, else a derived code of six
    digits, the town's place in ``core/data/ichikawa_towns.csv`` (4 digits, from 0001; new towns are
    appended, so codes never move) and the 丁目 (2 digits; 00 for the 町 as a whole or a 町 without 丁目)."""
    if official and name in official:
        return official[name]
    number = _town_numbers().get(town)
    return f"{number:04d}{chome:02d}" if number is not None else f"9999{chome:02d}"


@functools.cache
def _town_numbers() -> dict[str, int]:
    return {t.name: i for i, t in enumerate(load_towns(), start=1)}


def read_area_codes(path: Path | None) -> dict[str, str]:
    """The official 町丁目 codes (a CSV with columns 地域名 and 地域コード), or {} without one."""
    if path is None:
        return {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"地域名", "地域コード"} <= set(rows[0]):
        raise ValueError(f"{path.name}: an area-code list needs the columns 地域名 and 地域コード")
    return {r["地域名"].strip(): r["地域コード"].strip() for r in rows if r["地域名"].strip()}


@dataclass
class Table:
    """A grid of published cells with the sums that tie them together."""

    header: list[str]
    rows: list[list]
    numeric: list[int]  # the columns holding counts
    equations: list[list[tuple[int, int]]] = field(default_factory=list)  # each: cells..., total last
    suppressed: set[tuple[int, int]] = field(default_factory=set)

    def value(self, cell: tuple[int, int]) -> int:
        return self.rows[cell[0]][cell[1]]

    def numeric_cells(self):
        for r in range(len(self.rows)):
            for c in self.numeric:
                yield (r, c)


def determined(equations: list[list[tuple[int, int]]], hidden: set) -> list:
    """Hidden cells whose value the published sums determine, whatever the values: a hidden cell is
    determined exactly when its unit vector lies in the row space of the sums restricted to the hidden
    cells (each sum: its cells minus its total). Solved per connected group of hidden cells by SVD."""
    eqs = [[(c, -1.0 if i == len(eq) - 1 else 1.0) for i, c in enumerate(eq) if c in hidden] for eq in equations]
    eqs = [e for e in eqs if e]
    parent: dict = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in eqs:
        for c, _ in e[1:]:
            parent[root(c)] = root(e[0][0])
    groups: dict = defaultdict(list)
    for e in eqs:
        groups[root(e[0][0])].append(e)
    found = []
    for group in groups.values():
        cells = sorted({c for e in group for c, _ in e})
        index = {c: i for i, c in enumerate(cells)}
        m = np.zeros((len(group), len(cells)))
        for r, e in enumerate(group):
            for c, sign in e:
                m[r, index[c]] += sign
        _, s, vt = np.linalg.svd(m, full_matrices=False)
        rank = int((s > 1e-9 * max(1.0, s[0] if len(s) else 0)).sum())
        weight = (vt[:rank] ** 2).sum(axis=0)
        found += [c for c, w in zip(cells, weight) if w > 1 - 1e-7]
    return found


def suppress(table: Table, high: int = MAX_SMALL_CELL) -> Table:
    """Primary suppression of cells of 1..``high``, then complementary suppression: until no sum has exactly
    one suppressed cell, and then until the sums together determine no suppressed cell. Complements are the
    smallest non-zero visible cells of a sum that holds the exposed cell."""
    table.suppressed = {cell for cell in table.numeric_cells() if 1 <= table.value(cell) <= high}
    by_cell: dict = defaultdict(list)
    for eq in table.equations:
        for c in eq:
            by_cell[c].append(eq)

    def complement(eq: list) -> bool:
        visible = [c for c in eq if c not in table.suppressed]
        if not visible:
            return False
        nonzero = [c for c in visible if table.value(c) > 0]
        table.suppressed.add(min(nonzero or visible, key=lambda c: (table.value(c), c)))
        return True

    while True:
        changed = True
        while changed:
            changed = False
            for eq in table.equations:
                if sum(c in table.suppressed for c in eq) == 1 and complement(eq):
                    changed = True
        exposed = determined(table.equations, table.suppressed)
        if not exposed:
            return table
        for cell in exposed:  # open another sum around each exposed cell
            options = [eq for eq in by_cell[cell] if any(c not in table.suppressed for c in eq)]
            if options:
                complement(min(options, key=lambda eq: sum(c in table.suppressed for c in eq)))


def recoverable(table: Table) -> list[tuple[int, int]]:
    """Suppressed cells that the published sums give away (must be empty)."""
    return determined(table.equations, table.suppressed)


@dataclass
class Area:
    """A 町丁目 as the marts name it, with its residents by (band, sex) and its households."""

    name: str
    town: str
    chome: int
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    households: int = 0

    @property
    def residents(self) -> int:
        return sum(self.counts.values())


@dataclass
class Group:
    """One published row: an area, 丁目 merged together, or a whole 町."""

    town: str
    areas: list[Area]
    whole_town: bool = False

    @property
    def residents(self) -> int:
        return sum(a.residents for a in self.areas)

    @property
    def name(self) -> str:
        if self.whole_town or len(self.areas) > 1 and {a.chome for a in self.areas} == {0}:
            return self.town
        return "・".join(a.name for a in sorted(self.areas, key=lambda a: a.chome))

    @property
    def note(self) -> str:
        if len(self.areas) == 1 and not self.whole_town:
            return ""
        names = "・".join(a.name for a in sorted(self.areas, key=lambda a: a.chome))
        if self.whole_town:
            return f"小地域の秘匿のため町全体で集計（{names}）" if len(self.areas) > 1 else "小地域の秘匿のため町全体で集計"
        return f"小地域の秘匿のため合算（{names}）"


def merge_small_areas(areas: list[Area], minimum: int = MIN_AREA_RESIDENTS) -> list[Group]:
    """Groups of each 町's areas, every group at least ``minimum`` residents where the 町 allows it: the
    smallest group is merged with its smaller neighbour by 丁目 number, until none is small; a 町 that
    ends as one merged group is reported as the 町."""
    by_town: dict[str, list[Area]] = defaultdict(list)
    for a in areas:
        by_town[a.town].append(a)
    out: list[Group] = []
    for town, members in sorted(by_town.items()):
        groups = [Group(town, [a]) for a in sorted(members, key=lambda a: (a.chome, a.name))]
        while len(groups) > 1 and min(g.residents for g in groups) < minimum:
            i = min(range(len(groups)), key=lambda k: (groups[k].residents, k))
            neighbours = [k for k in (i - 1, i + 1) if 0 <= k < len(groups)]
            j = min(neighbours, key=lambda k: (groups[k].residents, k))
            lo, hi = sorted((i, j))
            groups[lo:hi + 1] = [Group(town, groups[lo].areas + groups[hi].areas)]
        if len(groups) == 1 and len(groups[0].areas) > 1:
            groups[0].whole_town = True
        out += groups
    return out


def read_population(con: duckdb.DuckDBPyConnection) -> tuple[list[Area], dt.date]:
    """The residents by 町丁目, band and sex, and the households by 町丁目, from the marts."""
    rows = con.execute(f"select area_name, town, least(age_band_start, 85), sex, sum(population), "
                       f"max(as_of_date) from {L}.marts.mart_population_by_chome_age_sex group by all").fetchall()
    if not rows:
        raise ValueError("marts.mart_population_by_chome_age_sex is empty: build the marts first")
    areas: dict[str, Area] = {}

    def area(name: str, town: str) -> Area:
        return areas.setdefault(name, Area(name, town, chome_number(name, town)))

    for name, town, start, sex, n, _ in rows:
        band = BANDS[int(start) // 5]
        area(name, town).counts[(band, "男性" if sex == "男" else "女性")] = int(n)
    for name, town, n in con.execute(f"select area_name, town, households from {L}.marts.mart_households_by_chome"
                                     ).fetchall():
        area(name, town).households = int(n)
    return list(areas.values()), max(r[5] for r in rows)


def population_table(areas: list[Area], as_of: dt.date, official: dict[str, str] | None = None,
                     minimum: int = MIN_AREA_RESIDENTS) -> tuple[Table, list[Group]]:
    """地域・年齢別人口 under the policy: small areas merged, then small cells suppressed."""
    groups = merge_small_areas(areas, minimum)
    bands = [(b, s) for b in BANDS for s in SEXES]
    grid = []
    for g in groups:
        cells = [sum(a.counts.get(k, 0) for a in g.areas) for k in bands]
        first = min(g.areas, key=lambda a: a.chome)  # a merged row takes the code of its first 丁目
        code = area_code(g.town, 0, official, g.town) if g.whole_town else \
            area_code(g.town, first.chome, official, first.name)
        grid.append([code, g.name, cells, sum(a.households for a in g.areas), g.note])
    city = [sum(r[2][i] for r in grid) for i in range(len(bands))]
    grid.append(["", CITY, city, sum(r[3] for r in grid), "市全体の合計"])
    rows = []
    for code, name, cells, households, note in grid:
        men, women = sum(cells[0::2]), sum(cells[1::2])
        rows.append([LG_CODE, code, PREFECTURE, CITY, as_of.isoformat(), name, men + women, men, women, *cells,
                     households, note])
    total_c, men_c, women_c, first_c = 6, 7, 8, 9
    households_c = len(POPULATION_HEADER) - 2
    t = Table(header=POPULATION_HEADER, rows=rows, numeric=list(range(total_c, households_c + 1)))
    for r in range(len(rows)):
        t.equations.append([(r, c) for c in range(first_c, households_c, 2)] + [(r, men_c)])
        t.equations.append([(r, c) for c in range(first_c + 1, households_c, 2)] + [(r, women_c)])
        t.equations.append([(r, men_c), (r, women_c), (r, total_c)])
    city_r = len(rows) - 1
    for c in range(total_c, households_c + 1):
        t.equations.append([(r, c) for r in range(city_r)] + [(city_r, c)])
    return suppress(t), groups


def business_table(con: duckdb.DuckDBPyConnection, official: dict[str, str] | None = None
                   ) -> tuple[Table, dt.date | None]:
    rows = con.execute(f"select town, industry, businesses, as_of_date from {L}.marts.mart_businesses_by_town_industry "
                       "order by town, industry").fetchall()
    as_of = rows[0][3] if rows else None
    grid = [[LG_CODE, area_code(town, 0, official, town), PREFECTURE, CITY, as_of.isoformat() if as_of else "", town,
             ind, n, ""] for town, ind, n, _ in rows]
    return Table(header=BUSINESS_HEADER, rows=grid, numeric=[7]), as_of  # businesses, not persons: no suppression


def witness_table(con: duckdb.DuckDBPyConnection) -> tuple[Table, dt.date] | None:
    """Every witness of the access log (core.witness), oldest first; None before the first."""
    from core.witness import PUBLISHED_HEADER, history, published_rows

    found = history(con, "api_access_log")
    if not found:
        return None
    return Table(PUBLISHED_HEADER, published_rows(found), numeric=[]), found[-1].at.date()


def cells(table: Table) -> list[list[str]]:
    """The published text of every cell, X where suppressed."""
    return [[SUPPRESSED if (r, c) in table.suppressed else str(v) for c, v in enumerate(row)]
            for r, row in enumerate(table.rows)]


def to_csv(table: Table, encoding: str = "utf-8-sig") -> bytes:
    """The table as CSV (CRLF): UTF-8 with BOM, or CP932 (Shift_JIS) as the city has published until now."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(table.header)
    w.writerows(cells(table))
    return out.getvalue().encode(encoding)  # CP932 raises on a character it lacks: nothing is silently altered


ENCODINGS = {"utf-8-sig": ("", "UTF-8 (BOM)"), "cp932": ("_sjis", "Shift_JIS (CP932)")}
DATASETS = {
    "population": ("122033_chiiki_nenrei_betsu_jinko", "地域・年齢別人口",
                   "住民基本台帳に基づく町丁目別・5歳階級別・男女別人口と世帯数（推奨データセットの項目）。居住者"
                   f"{MIN_AREA_RESIDENTS}人未満の丁目は同じ町の隣の丁目と合算し、町全体でも少ない場合は町で集計"
                   f"（備考に記載）。1～{MAX_SMALL_CELL}人（世帯）のセルと、公表値から計算できるセルは秘匿（X）。"
                   "地域コードは市の町丁目コード表によるか、町名一覧から導いた6桁（町の番号4桁＋丁目2桁）。",
                   ["人口", "町丁目", "年齢別", "世帯数", "住民基本台帳"]),
    "businesses": ("122033_jigyosha_machi_gyoshu", "町名・業種別事業者数",
                   "市内に所在する法人・登録業者の町名別・業種別の数（国税庁法人番号公表データ及び入札参加資格"
                   "登録から作成）。地域コードは町の番号4桁＋00。", ["事業者", "法人", "町名別"]),
    "witness": ("122033_access_log_witness", "個人情報アクセス記録の証跡",
                "本人同意型データ連携APIのアクセス記録（ハッシュ連鎖）の定期チェックポイント：件数と末尾ハッシュ。"
                "公開後は市の管理者も書き換えられないため、記録の消去・巻き戻し・作り直しを誰でも検出できる"
                "（onesource accesslog verify --witness）。個人情報は含まない。", ["アクセス記録", "改ざん検知", "透明性"]),
}


def file_name(key: str, encoding: str) -> str:
    return f"{DATASETS[key][0]}{ENCODINGS[encoding][0]}.csv"


# DCAT-AP's controlled vocabularies: IANA media types, the EU's file types, frequencies, themes and languages
MEDIA_TYPE_CSV = "http://www.iana.org/assignments/media-types/text/csv"
FILE_TYPE_CSV = "http://publications.europa.eu/resource/authority/file-type/CSV"
EU_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
LANGUAGE_JA = "http://publications.europa.eu/resource/authority/language/JPN"
# who answers for the open data: the city's DX推進課, reached through the city's own site
CONTACT = {"fn": "市川市 DX推進課", "organisation": "市川市", "url": "https://www.city.ichikawa.lg.jp/"}
# dataset -> (update frequency, EU data theme): every daily refresh publishes again
CADENCE = {"population": ("DAILY", "SOCI"), "businesses": ("DAILY", "ECON"), "witness": ("DAILY", "GOVE")}
FILES_PATH = "/v1/opendata/files/"  # where the API serves each file the catalog lists (api/routes/public.py)
CATALOG_PATH = "/v1/opendata/catalog"


def charset(data: bytes, encoding: str) -> str:
    """The IANA charset name of a published file: UTF-8 (the BOM is part of the file), or Shift_JIS for the
    CP932 copy when every character is plain Shift_JIS, else Windows-31J (CP932's own name, for its extra
    characters)."""
    if encoding == "utf-8-sig":
        return "UTF-8"
    try:
        data.decode("shift_jis")
        return "Shift_JIS"
    except UnicodeDecodeError:
        return "Windows-31J"


def catalog(files: dict[str, tuple[list[Path], dt.date | None]], issued: dt.date, base_url: str) -> dict:
    """A DCAT-AP 3 catalog of the published files, as JSON-LD: one dataset each, one distribution per encoding.

    ``base_url`` is where the public reaches the API (settings: ``opendata_base_url``); every access and
    download URL is the API's address of the file, and the catalog's own id is its address there."""
    base_url = base_url.rstrip("/")
    cat_id = f"{base_url}{CATALOG_PATH}"
    publisher = {"@id": f"{cat_id}#publisher", "@type": ["foaf:Agent", "foaf:Organization"], "foaf:name": {"@language": "ja", "@value": "市川市"},
                 "dct:type": {"@id": "http://purl.org/adms/publishertype/LocalAuthority"}}
    contact = {"@id": f"{cat_id}#contact", "@type": ["vcard:Kind", "vcard:Organization"], "vcard:fn": CONTACT["fn"],
               "vcard:organization-name": CONTACT["organisation"], "vcard:hasURL": {"@id": CONTACT["url"]}}
    licence = {"@id": LICENSE, "@type": "dct:LicenseDocument"}
    datasets = []
    for key, (paths, as_of) in files.items():
        stem, title, desc, keywords = DATASETS[key]
        frequency, theme = CADENCE[key]
        distributions = []
        for path in paths:
            data = path.read_bytes()
            encoding = "cp932" if path.stem.endswith("_sjis") else "utf-8-sig"
            url = {"@id": f"{base_url}{FILES_PATH}{path.name}"}
            distributions.append({
                "@id": f"{cat_id}#distribution-{path.stem}",
                "@type": "dcat:Distribution",
                "dct:title": path.name,
                "dct:description": {"@language": "ja", "@value": f"CSV（{ENCODINGS[encoding][1]}）"},
                "dcat:accessURL": url,
                "dcat:downloadURL": url,
                "dcat:mediaType": {"@id": MEDIA_TYPE_CSV, "@type": "dct:MediaType"},
                "dct:format": {"@id": FILE_TYPE_CSV, "@type": "dct:MediaTypeOrExtent"},
                "dct:license": licence,
                "dcat:byteSize": {"@type": "xsd:nonNegativeInteger", "@value": len(data)},
                "spdx:checksum": {"@type": "spdx:Checksum",
                                  "spdx:algorithm": {"@id": "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"},
                                  "spdx:checksumValue": {"@type": "xsd:hexBinary",
                                                         "@value": hashlib.sha256(data).hexdigest()}},
                "cnt:characterEncoding": charset(data, encoding),
                "dct:modified": {"@type": "xsd:date", "@value": (as_of or issued).isoformat()},
            })
        datasets.append({
            "@id": f"{cat_id}#dataset-{stem}",
            "@type": "dcat:Dataset",
            "dct:identifier": stem,
            "dct:title": {"@language": "ja", "@value": title},
            "dct:description": {"@language": "ja", "@value": desc},
            "dcat:keyword": [{"@language": "ja", "@value": k} for k in keywords],
            "dcat:theme": {"@id": f"{EU_THEME}{theme}", "@type": "skos:Concept"},
            "dct:publisher": publisher,
            "dcat:contactPoint": contact,
            "dct:accrualPeriodicity": {"@id": f"{EU_FREQUENCY}{frequency}", "@type": "dct:Frequency"},
            "dct:language": {"@id": LANGUAGE_JA, "@type": "dct:LinguisticSystem"},
            "dct:license": licence,
            "dct:spatial": {"@id": f"http://data.e-stat.go.jp/lod/sac/C{LG_CODE[:5]}", "@type": "dct:Location"},
            "dct:issued": {"@type": "xsd:date", "@value": issued.isoformat()},
            "dct:modified": {"@type": "xsd:date", "@value": (as_of or issued).isoformat()},
            "dct:conformsTo": {"@id": "https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test",
                               "@type": "dct:Standard"},
            "dcat:distribution": distributions,
        })
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "xsd": "http://www.w3.org/2001/XMLSchema#",
                     "spdx": "http://spdx.org/rdf/terms#", "cnt": "http://www.w3.org/2011/content#",
                     "vcard": "http://www.w3.org/2006/vcard/ns#", "skos": "http://www.w3.org/2004/02/skos/core#"},
        "@id": cat_id,
        "@type": "dcat:Catalog",
        "dct:title": {"@language": "ja", "@value": "市川市オープンデータカタログ"},
        "dct:description": {"@language": "ja", "@value": "市川市（全国地方公共団体コード 122033）が公開するオープンデータ"},
        "dct:publisher": publisher,
        "dcat:contactPoint": contact,
        "foaf:homepage": {"@id": CONTACT["url"]},
        "dct:language": {"@id": LANGUAGE_JA, "@type": "dct:LinguisticSystem"},
        "dct:license": licence,
        "dcat:themeTaxonomy": {"@id": EU_THEME[:-1], "@type": "skos:ConceptScheme"},
        "dct:spatial": {"@id": f"http://data.e-stat.go.jp/lod/sac/C{LG_CODE[:5]}", "@type": "dct:Location"},
        "dct:issued": {"@type": "xsd:date", "@value": issued.isoformat()},
        "dct:modified": {"@type": "xsd:date", "@value": max((d or issued) for _p, d in files.values()).isoformat()},
        "dcat:dataset": datasets,
    }


def publish(con: duckdb.DuckDBPyConnection, out: Path, base_url: str | None = None,
            area_codes: Path | None = None) -> dict[str, Path]:
    """Write the open-data files (both encodings) and catalog under ``out`` and into ``lake.opendata``; the
    catalog's URLs start at ``base_url`` (default: the settings' ``opendata_base_url``, where the API is)."""
    if base_url is None:
        from core.settings import get_settings

        base_url = get_settings().opendata_base_url
    out.mkdir(parents=True, exist_ok=True)
    official = read_area_codes(area_codes)
    areas, as_of = read_population(con)
    pop, groups = population_table(areas, as_of, official)
    if recoverable(pop):  # pragma: no cover - suppress() guarantees it; a bug must not publish
        raise RuntimeError("suppression left recoverable cells; nothing published")
    missing = [g.name for g in groups if official and g.name not in official and not g.note]
    if missing:
        log.warning("the area-code list has no code for %s area(s), e.g. %s: derived codes used", len(missing),
                    missing[0])
    biz, biz_as_of = business_table(con, official)
    files: dict[str, tuple[list[Path], dt.date | None]] = {}
    tables = [("population", pop, as_of), ("businesses", biz, biz_as_of)]
    witnessed = witness_table(con)
    if witnessed is not None:
        tables.append(("witness", *witnessed))
    for key, table, date in tables:
        encodings = ("utf-8-sig",) if key == "witness" else tuple(ENCODINGS)
        paths = []
        for encoding in encodings:
            path = out / file_name(key, encoding)
            path.write_bytes(to_csv(table, encoding))
            paths.append(path)
        files[key] = (paths, date)
        _to_lake(con, f'{L}.opendata."{DATASETS[key][0]}"', table)
    cat = catalog(files, as_of, base_url)
    (out / "catalog.jsonld").write_text(json.dumps(cat, ensure_ascii=False, indent=1), encoding="utf-8")
    return {k: v[0][0] for k, v in files.items()} | {f"{k}_sjis": v[0][1] for k, v in files.items() if len(v[0]) > 1} \
        | {"catalog": out / "catalog.jsonld"}


def _to_lake(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    """The published table as text cells (X where suppressed), exactly what the CSV holds."""
    import pyarrow as pa

    text = cells(table)
    data = pa.table({h: pa.array([row[c] for row in text], type=pa.string())  # noqa: F841 - read below
                     for c, h in enumerate(table.header)})
    con.execute(f'create or replace table {name} as select * from data')
