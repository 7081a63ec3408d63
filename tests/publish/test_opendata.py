"""Open data: layout, encoding, names, catalog, and a suppression no subtraction can undo."""

from __future__ import annotations

import csv
import io
import json

import pytest

from onesource.core import lake
from publish.opendata import BANDS, SEXES, SUPPRESSED, Table, publish, recoverable, suppress


@pytest.fixture(scope="module")
def published(built_city, tmp_path_factory):
    out = tmp_path_factory.mktemp("opendata")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESOURCE_HOME", str(built_city / "home"))
        mp.setenv("ONESOURCE_KEYS_DIR", str(built_city / "keys"))
        con = lake.connect()
        files = publish(con, out)
        con.close()
    return files


def _read(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_files_are_named_and_encoded_as_the_standard_asks(published):
    for key in ("population", "businesses"):
        assert published[key].name.startswith("122033_") and published[key].suffix == ".csv"
    rows = _read(published["population"])
    header = rows[0]
    assert header[:8] == ["全国地方公共団体コード", "都道府県名", "市区町村名", "調査年月日", "地域名", "総数", "男", "女"]
    assert header[8:] == [f"{b}_{s}" for b in BANDS for s in SEXES]
    assert all(r[0] == "122033" and r[2] == "市川市" for r in rows[1:])
    assert rows[-1][4] == "市川市 計" and int(rows[-1][5]) > 3000


def test_no_small_cell_is_visible_and_none_can_be_recovered_from_totals(published):
    for key in ("population",):
        rows = _read(published[key])[1:]
        n_cols = len(rows[0])
        cells = [[None if v == SUPPRESSED else int(v) for v in r[5:]] for r in rows]
        hidden = sum(v is None for r in cells for v in r)
        assert hidden > 0  # the small city has small cells: the check is not vacuous
        for r in cells:
            for v in r:
                assert v is None or not 1 <= v <= 9
        # the sums a reader can form from the published file: bands by sex = 男 / 女, 男 + 女 = 総数,
        # and every column over the areas = the city row
        sums = []
        for r in cells:
            sums.append(r[3::2] + [r[1]])
            sums.append(r[4::2] + [r[2]])
            sums.append([r[1], r[2], r[0]])
        for c in range(n_cols - 5):
            sums.append([r[c] for r in cells])
        for s in sums:
            assert sum(v is None for v in s) != 1, "a suppressed cell is the difference of visible cells"


def test_suppression_algorithm_on_a_hand_made_grid():
    # two areas and a total row; area A has a single 3 in one column: primary + complements
    t = Table(header=["a", "x", "y", "t"], rows=[["A", 3, 40, 43], ["B", 20, 30, 50], ["計", 23, 70, 93]],
              label_cols=1)
    t.equations = [[(0, 1), (0, 2), (0, 3)], [(1, 1), (1, 2), (1, 3)], [(2, 1), (2, 2), (2, 3)],
                   [(0, 1), (1, 1), (2, 1)], [(0, 2), (1, 2), (2, 2)], [(0, 3), (1, 3), (2, 3)]]
    suppress(t)
    assert (0, 1) in t.suppressed and not recoverable(t)
    assert len(t.suppressed) >= 4  # a 3 in a 2x2 block needs its rectangle


def test_catalog_is_dcat_jsonld_under_cc_by(published):
    cat = json.loads(published["catalog"].read_text(encoding="utf-8"))
    assert cat["@type"] == "dcat:Catalog" and "dcat" in cat["@context"]
    assert cat["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
    names = {d["dcat:distribution"][0]["dct:title"] for d in cat["dcat:dataset"]}
    assert names == {published["population"].name, published["businesses"].name}
    for d in cat["dcat:dataset"]:
        dist = d["dcat:distribution"][0]
        assert dist["dcat:mediaType"] == "text/csv" and dist["dcat:byteSize"]["@value"] > 0
        assert d["dct:license"]["@id"].startswith("https://creativecommons.org/licenses/by/4.0")


def test_published_tables_are_in_the_lake_too(published, city_home):
    con = lake.connect(read_only=True)
    rows = con.execute('select count(*) from lake.opendata."122033_chiiki_nenrei_betsu_jinko"').fetchone()[0]
    assert rows == len(_read(published["population"])) - 1
