"""Open data in the Digital Agency's 自治体標準オープンデータセット layouts, with small-cell suppression.

地域・年齢別人口: one row per 町丁目 (and a city total row), 総数 / 男 / 女 and every 5-year band by sex.
Cells of 1 to 9 persons are suppressed ("X"), and so are complementary cells: every published sum
(a row's bands to its 男 or 女 total, 男 + 女 to 総数, each column's areas to the city total) keeps
either no suppressed cell or at least two, so no suppressed value can be recovered by subtracting
visible cells from a visible total. Files are CSV in UTF-8 with BOM named 122033_..., described by a
DCAT-AP catalog (JSON-LD) under CC BY 4.0, and also kept in the lake's ``opendata`` schema.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from onesource.core.lake import LAKE_ALIAS as L
from onesource.core.towns import CITY, LG_CODE, PREFECTURE

SUPPRESSED = "X"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
BANDS = [f"{a}-{a + 4}歳" for a in range(0, 100, 5)] + ["100歳以上"]
SEXES = ("男", "女")
CITY_ROW = "市川市 計"


@dataclass
class Table:
    """A grid of published cells with the sums that tie them together."""

    header: list[str]
    rows: list[list]  # leading label cells, then numbers
    label_cols: int
    equations: list[list[tuple[int, int]]] = field(default_factory=list)  # each: cells..., total last
    suppressed: set[tuple[int, int]] = field(default_factory=set)

    def value(self, cell: tuple[int, int]) -> int:
        return self.rows[cell[0]][cell[1]]

    def numeric_cells(self):
        for r, row in enumerate(self.rows):
            for c in range(self.label_cols, len(row)):
                yield (r, c)


def suppress(table: Table, low: int = 1, high: int = 9) -> Table:
    """Primary suppression of cells in [low, high], then complementary suppression until no sum has
    exactly one suppressed cell. Complements are the smallest non-zero visible cells of the sum."""
    table.suppressed = {cell for cell in table.numeric_cells() if low <= table.value(cell) <= high}
    changed = True
    while changed:
        changed = False
        for eq in table.equations:
            hidden = [c for c in eq if c in table.suppressed]
            if len(hidden) != 1:
                continue
            visible = [c for c in eq if c not in table.suppressed]
            if not visible:
                continue
            nonzero = [c for c in visible if table.value(c) > 0]
            pick = min(nonzero or visible, key=lambda c: (table.value(c), c))
            table.suppressed.add(pick)
            changed = True
    return table


def recoverable(table: Table) -> list[tuple[int, int]]:
    """Suppressed cells that a single published sum gives away (must be empty)."""
    return [h[0] for eq in table.equations if len(h := [c for c in eq if c in table.suppressed]) == 1]


def population_table(con: duckdb.DuckDBPyConnection) -> tuple[Table, dt.date]:
    rows = con.execute(f"select area_name, town, age_band, sex, population, as_of_date "
                       f"from {L}.marts.mart_population_by_chome_age_sex").fetchall()
    if not rows:
        raise ValueError("marts.mart_population_by_chome_age_sex is empty: build the marts first")
    as_of = rows[0][5]
    areas = sorted({r[0] for r in rows})
    counts = {(r[0], r[2], r[3]): r[4] for r in rows}
    header = ["全国地方公共団体コード", "都道府県名", "市区町村名", "調査年月日", "地域名", "総数", "男", "女"]
    header += [f"{b}_{s}" for b in BANDS for s in SEXES]
    label_cols = 5
    grid = []
    for area in areas + [CITY_ROW]:
        cells = [counts.get((area, b, s), 0) for b in BANDS for s in SEXES] if area != CITY_ROW else \
            [sum(counts.get((a, b, s), 0) for a in areas) for b in BANDS for s in SEXES]
        men = sum(cells[0::2])
        women = sum(cells[1::2])
        grid.append([LG_CODE, PREFECTURE, CITY, as_of.isoformat(), area, men + women, men, women, *cells])
    t = Table(header=header, rows=grid, label_cols=label_cols)
    total_c, men_c, women_c = 5, 6, 7
    first = 8
    for r in range(len(grid)):
        t.equations.append([(r, c) for c in range(first, len(header), 2)] + [(r, men_c)])
        t.equations.append([(r, c) for c in range(first + 1, len(header), 2)] + [(r, women_c)])
        t.equations.append([(r, men_c), (r, women_c), (r, total_c)])
    city = len(grid) - 1
    for c in range(total_c, len(header)):
        t.equations.append([(r, c) for r in range(city)] + [(city, c)])
    return suppress(t), as_of


def business_table(con: duckdb.DuckDBPyConnection) -> tuple[Table, dt.date | None]:
    rows = con.execute(f"select town, industry, businesses, as_of_date from {L}.marts.mart_businesses_by_town_industry "
                       "order by town, industry").fetchall()
    as_of = rows[0][3] if rows else None
    header = ["全国地方公共団体コード", "都道府県名", "市区町村名", "調査年月日", "町名", "業種", "事業者数"]
    grid = [[LG_CODE, PREFECTURE, CITY, as_of.isoformat() if as_of else "", town, ind, n] for town, ind, n, _ in rows]
    return Table(header=header, rows=grid, label_cols=6), as_of  # businesses, not persons: no suppression


def witness_table(con: duckdb.DuckDBPyConnection) -> tuple[Table, dt.date] | None:
    """Every witness of the access log (onesource.core.witness), oldest first; None before the first."""
    from onesource.core.witness import PUBLISHED_HEADER, history, published_rows

    found = history(con, "api_access_log")
    if not found:
        return None
    return Table(PUBLISHED_HEADER, published_rows(found), label_cols=len(PUBLISHED_HEADER)), found[-1].at.date()


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(table.header)
    for r, row in enumerate(table.rows):
        w.writerow([SUPPRESSED if (r, c) in table.suppressed else v for c, v in enumerate(row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


DATASETS = {
    "population": ("122033_chiiki_nenrei_betsu_jinko.csv", "地域・年齢別人口",
                   "住民基本台帳に基づく町丁目別・5歳階級別・男女別人口。1～9人のセルと、合計から逆算できる"
                   "セルは秘匿（X）。", ["人口", "町丁目", "年齢別", "住民基本台帳"]),
    "businesses": ("122033_jigyosha_machi_gyoshu.csv", "町名・業種別事業者数",
                   "市内に所在する法人・登録業者の町名別・業種別の数（国税庁法人番号公表データ及び入札参加資格"
                   "登録から作成）。", ["事業者", "法人", "町名別"]),
    "witness": ("122033_access_log_witness.csv", "個人情報アクセス記録の証跡",
                "本人同意型データ連携APIのアクセス記録（ハッシュ連鎖）の定期チェックポイント：件数と末尾ハッシュ。"
                "公開後は市の管理者も書き換えられないため、記録の消去・巻き戻し・作り直しを誰でも検出できる"
                "（onesource accesslog verify --witness）。個人情報は含まない。", ["アクセス記録", "改ざん検知", "透明性"]),
}


def catalog(files: dict[str, tuple[Path, dt.date | None]], issued: dt.date, base_url: str) -> dict:
    """A DCAT-AP catalog of the published files, as JSON-LD."""
    datasets = []
    for key, (path, as_of) in files.items():
        name, title, desc, keywords = DATASETS[key]
        data = path.read_bytes()
        datasets.append({
            "@id": f"{base_url}/dataset/{path.stem}",
            "@type": "dcat:Dataset",
            "dct:identifier": path.stem,
            "dct:title": {"@language": "ja", "@value": title},
            "dct:description": {"@language": "ja", "@value": desc},
            "dcat:keyword": keywords,
            "dct:publisher": {"@id": f"{base_url}#publisher"},
            "dct:license": {"@id": LICENSE},
            "dct:spatial": {"@id": f"http://data.e-stat.go.jp/lod/sac/C{LG_CODE[:5]}"},
            "dct:issued": {"@type": "xsd:date", "@value": issued.isoformat()},
            "dct:modified": {"@type": "xsd:date", "@value": (as_of or issued).isoformat()},
            "dct:conformsTo": {"@id": "https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test"},
            "dcat:distribution": [{
                "@id": f"{base_url}/files/{path.name}",
                "@type": "dcat:Distribution",
                "dct:title": path.name,
                "dcat:downloadURL": {"@id": f"{base_url}/files/{path.name}"},
                "dcat:mediaType": "text/csv",
                "dct:format": "CSV",
                "dct:license": {"@id": LICENSE},
                "dcat:byteSize": {"@type": "xsd:nonNegativeInteger", "@value": len(data)},
                "spdx:checksum": {"@type": "spdx:Checksum", "spdx:algorithm": "spdx:checksumAlgorithm_sha256",
                                  "spdx:checksumValue": hashlib.sha256(data).hexdigest()},
                "cnt:characterEncoding": "UTF-8 (BOM)",
            }],
        })
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "xsd": "http://www.w3.org/2001/XMLSchema#",
                     "spdx": "http://spdx.org/rdf/terms#", "cnt": "http://www.w3.org/2011/content#"},
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": {"@language": "ja", "@value": "市川市オープンデータカタログ"},
        "dct:description": {"@language": "ja", "@value": "市川市（全国地方公共団体コード 122033）が公開するオープンデータ"},
        "dct:publisher": {"@id": f"{base_url}#publisher", "@type": "foaf:Organization", "foaf:name": "市川市"},
        "dct:license": {"@id": LICENSE},
        "dct:issued": {"@type": "xsd:date", "@value": issued.isoformat()},
        "dcat:dataset": datasets,
    }


def publish(con: duckdb.DuckDBPyConnection, out: Path, base_url: str = "https://opendata.city.ichikawa.example"
            ) -> dict[str, Path]:
    """Write the open-data files and catalog under ``out`` and into ``lake.opendata``."""
    out.mkdir(parents=True, exist_ok=True)
    pop, as_of = population_table(con)
    if recoverable(pop):  # pragma: no cover - suppress() guarantees it; a bug must not publish
        raise RuntimeError("suppression left recoverable cells; nothing published")
    biz, biz_as_of = business_table(con)
    files: dict[str, tuple[Path, dt.date | None]] = {}
    tables = [("population", pop, as_of), ("businesses", biz, biz_as_of)]
    witnessed = witness_table(con)
    if witnessed is not None:
        tables.append(("witness", *witnessed))
    for key, table, date in tables:
        path = out / DATASETS[key][0]
        path.write_bytes(to_csv(table))
        files[key] = (path, date)
        _to_lake(con, f'{L}.opendata."{path.stem}"', table)
    cat = catalog(files, as_of, base_url)
    (out / "catalog.jsonld").write_text(json.dumps(cat, ensure_ascii=False, indent=1), encoding="utf-8")
    return {k: v[0] for k, v in files.items()} | {"catalog": out / "catalog.jsonld"}


def _to_lake(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    """The published table as text cells (X where suppressed), exactly what the CSV holds."""
    import pyarrow as pa

    cols = {h: [SUPPRESSED if (r, c) in table.suppressed else str(row[c]) for r, row in enumerate(table.rows)]
            for c, h in enumerate(table.header)}
    data = pa.table({h: pa.array(v, type=pa.string()) for h, v in cols.items()})  # noqa: F841 - read below
    con.execute(f'create or replace table {name} as select * from data')
