"""Each system's extracts as ../shared/spec/source-systems.md describes them, faults as manifested."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict

import openpyxl
import psycopg
import pytest

from core.era import EraDateError, parse_era7
from core.ids import atena_valid, houjin_valid, my_number_valid
from core.towns import load_towns
from simulator import SimConfig, simulate
from simulator.systems.juki import COLUMNS as JUKI_COLUMNS
from simulator.systems.kosodate import COLUMNS as KOSODATE_COLUMNS
from simulator.systems.madoguchi import COLUMNS as MADO_COLUMNS
from tests.simulator.landing import files, manifest_lines, rel
from tests.support.paths import SHARED


def test_validate_landing_passes(city):
    tool = SHARED / "tools" / "validate_landing.py"
    if not tool.exists():
        pytest.skip(f"{tool} is not beside this checkout")
    res = subprocess.run([sys.executable, str(tool), str(city.landing), str(city.truth)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "spec checks passed" in res.stdout


# --- juki -------------------------------------------------------------------------------------------
def test_juki_cp932_crlf_quoted_header_and_broken_rows_as_manifested(city):
    juki_files = files(city, "juki/*/juki_*.csv")
    assert any("juki_full_" in p.name for p in juki_files) and any("juki_ido_" in p.name for p in juki_files)
    for path in juki_files:
        raw = path.read_bytes()
        assert raw.endswith(b"\r\n")
        lines = raw.split(b"\r\n")[:-1]
        assert lines[0].decode("cp932") == ",".join(f'"{c}"' for c in JUKI_COLUMNS)
        undecodable, bad_key, short = set(), set(), set()
        bad_mynum, bad_date = set(), set()
        for n, line in enumerate(lines[1:], start=2):
            assert b"\n" not in line and b"\r" not in line
            try:
                text = line.decode("cp932")
            except UnicodeDecodeError:
                undecodable.add(n)
                continue
            fields = next(csv.reader([text]))
            assert text.startswith('"') and text.endswith('"')
            if len(fields) != len(JUKI_COLUMNS):
                short.add(n)
                continue
            if fields[0] and not atena_valid(fields[0]):
                bad_key.add(n)
            if fields[2] and not my_number_valid(fields[2]):
                bad_mynum.add(n)
            try:
                parse_era7(fields[6])
            except EraDateError:
                bad_date.add(n)
        r = rel(city, path)
        assert undecodable == manifest_lines(city, "quarantine", "undecodable_bytes", r)
        assert bad_key == manifest_lines(city, "quarantine", "bad_check_digit_atena", r)
        assert short == manifest_lines(city, "quarantine", "truncated_line", r)
        assert bad_mynum == manifest_lines(city, "field_issue", "bad_check_digit_my_number", r)
        assert bad_date == manifest_lines(city, "field_issue", "invalid_date", r)


def _juki_rows(city):
    for path in files(city, "juki/*/juki_*.csv"):
        for line in path.read_bytes().split(b"\r\n")[1:]:
            try:
                fields = next(csv.reader([line.decode("cp932")]), None)
            except UnicodeDecodeError:
                continue
            if fields and len(fields) == len(JUKI_COLUMNS):
                yield path, dict(zip(JUKI_COLUMNS, fields))


def test_juki_world_has_every_kind_of_resident(city):
    rows = [r for _p, r in _juki_rows(city)]
    eras = Counter(r["生年月日"][0] for r in rows)
    assert {"1", "2", "3", "4", "5"} <= set(eras), eras  # births across all five eras
    assert any(r["生年月日"].endswith("00") and r["生年月日"] != "0000000" for r in rows)  # unknown days
    statuses = Counter(r["住民状態"] for r in rows)
    assert {"1", "2", "3"} <= set(statuses)  # residents and 除票 (moved out, dead)
    reasons = Counter(r["異動事由"] for r in rows)
    assert {"01", "03", "11", "12", "21", "25"} <= set(reasons), reasons  # in, birth, out, death, move, name
    married = [r for r in rows if r["異動事由"] == "25"]
    assert married and all(r["旧氏"] for r in married)  # marriage with surname change keeps 旧氏
    assert any("〓" in r["氏名"] for r in rows)  # 外字 the registry cannot export
    assert any(c in r["氏名"] for r in rows for c in "髙﨑邊邉齋齊")  # registered variant characters
    assert all("　" in r["氏名"] and " " in r["氏名カナ"] for r in rows)
    assert all(r["氏名カナ"].isascii() is False and "ｱ" <= r["氏名カナ"][0] <= "ﾝ" for r in rows)
    zokugara = {r["続柄"] for r in rows}
    assert {"世帯主", "妻", "子"} <= zokugara


def test_juki_addresses_use_ichikawas_towns(city):
    towns = load_towns()
    assert len(towns) == 77 and len({t.name for t in towns}) == 77
    names = sorted((t.name for t in towns), key=len, reverse=True)
    postal = {t.name: t.postal for t in towns}
    seen = set()
    for _p, r in _juki_rows(city):
        town = next(n for n in names if r["住所"].startswith(n))
        seen.add(town)
        rest = r["住所"][len(town):]
        assert ("丁目" in rest and rest.endswith("号")) or "番地" in rest, r["住所"]
        assert len(r["郵便番号"]) == 7 and r["郵便番号"].isdigit()
        if r["住民状態"] == "1":
            assert r["郵便番号"] == postal[town]
    assert len(seen) >= 60


def test_persons_registered_twice_and_jutogai(city):
    truth = list(csv.DictReader(io.StringIO((city.truth / "person_truth.csv").read_text(encoding="utf-8"))))
    juki_keys = defaultdict(set)
    for t in truth:
        if t["source_system"] == "juki" and atena_valid(t["source_record_key"]):
            juki_keys[t["true_id"]].add(t["source_record_key"])
    assert any(len(v) >= 2 for v in juki_keys.values())  # a person who left and came back: two 宛名番号
    zei_only = {t["true_id"] for t in truth if t["source_system"] == "zei" and t["source_record_key"].split(":")[1][0] == "9"}
    assert zei_only and not zei_only & set(juki_keys)  # 住登外者: known to tax only


# --- zei ----------------------------------------------------------------------------------------------
def test_zei_records_are_200_bytes_padded_with_fullwidth_spaces(city):
    zei_files = files(city, "zei/*/kojin_juminzei_*.dat")
    names = {p.name for p in zei_files}
    fy = city.config.start.year
    assert {f"kojin_juminzei_{fy - 1}.dat", f"kojin_juminzei_{fy}.dat"} <= names
    assert any("_kosei_" in n for n in names)
    for path in zei_files:
        raw = path.read_bytes()
        assert raw.endswith(b"\r\n")
        wrong, undecodable = set(), set()
        for n, rec in enumerate(raw.split(b"\r\n")[:-1], start=1):
            if len(rec) != 200:
                wrong.add(n)
                continue
            assert rec[198:200] == b"  "
            assert rec[0:4].isdigit() and rec[160:172].isdigit() and rec[188:189] in b"1239"
            try:
                name = rec[52:92].decode("cp932")
            except UnicodeDecodeError:
                undecodable.add(n)
                continue
            kana = rec[12:52].decode("cp932")
            assert kana.rstrip("　 ") and set(kana.rstrip("　 ")) - set("　") <= set(
                "ァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロワヲンヴヶー　")
            assert name.endswith("　") or name.endswith(" ") or len(name.encode("cp932")) == 40
        r = rel(city, path)
        assert wrong == manifest_lines(city, "quarantine", "truncated_record", r)
        assert undecodable == manifest_lines(city, "quarantine", "undecodable_bytes", r)


# --- kokuho ---------------------------------------------------------------------------------------------
def test_kokuho_json_lines_and_drift(city):
    keys = {"hihokensha_bango", "kigo", "atena_bango", "shimei", "shimei_kana", "seinengappi", "seibetsu",
            "setai_bango", "shikaku_shutoku_ymd", "shikaku_soshitsu_ymd", "soshitsu_jiyu", "updated_at"}
    extra = set()
    for path in files(city, "kokuho/*/kokuho_shikaku_*.jsonl"):
        bad = set()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                bad.add(n)
                continue
            assert keys - {"hihokensha_bango"} <= set(obj)
            extra |= set(obj) - keys
            assert obj["updated_at"].endswith("+09:00")
        assert bad == manifest_lines(city, "quarantine", "truncated_line", rel(city, path))
    assert extra == {d["new_key"] for d in city.manifest["schema_drift"] if d["system"] == "kokuho"}


# --- kosodate -------------------------------------------------------------------------------------------
def test_kosodate_workbook_layout(city):
    books = files(city, "kosodate/*/hoiku_moushikomi_R*.xlsx")
    assert books
    kinds = Counter()
    for path in books:
        ws = openpyxl.load_workbook(path)["申込一覧"]
        assert [str(r) for r in ws.merged_cells.ranges] == ["A1:M1"]
        assert ws["A1"].value.endswith("保育所等入所申込一覧")
        assert [c.value for c in ws[2]] == KOSODATE_COLUMNS
        blank = 0
        for row in ws.iter_rows(min_row=3, values_only=True):
            if all(v is None for v in row):
                blank += 1
                continue
            kinds[type(row[1]).__name__] += 1
            if isinstance(row[11], int):
                kinds["atena_as_number"] += 1
        assert blank >= 0
    assert {"datetime", "str", "int"} <= set(kinds) and kinds["atena_as_number"] > 0


# --- houjin ---------------------------------------------------------------------------------------------
def test_houjin_nta_format(city):
    processes = Counter()
    for path in files(city, "houjin/*/*.csv"):
        text = path.read_text(encoding="utf-8")
        bad = set()
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            assert len(row) == 30
            if not houjin_valid(row[1]):
                bad.add(n)
            processes[row[2]] += 1
            assert row[13] == "12" and row[23] in ("0", "1")
        assert bad == manifest_lines(city, "quarantine", "bad_check_digit_houjin", rel(city, path))
    assert {"01", "11", "12", "21"} <= set(processes), processes  # new, renamed, moved, closed


# --- keiyaku --------------------------------------------------------------------------------------------
def test_keiyaku_sqlite_with_watermark_and_soft_deletes(city):
    con = sqlite3.connect(city.landing / "keiyaku" / "keiyaku.sqlite")
    cols = {t: [r[1] for r in con.execute(f"pragma table_info({t})")] for t in ("gyosha", "nyusatsu", "keiyaku")}
    assert cols["gyosha"] == ["gyosha_id", "houjin_bango", "shogo", "shogo_kana", "daihyosha_shimei", "shozaichi",
                              "denwa", "gyoshu", "toroku_ymd", "updated_at", "deleted_at"]
    assert cols["nyusatsu"][-1] == "updated_at" and cols["keiyaku"][-2:] == ["updated_at", "deleted_at"]
    start = city.config.start.isoformat()
    assert con.execute("select count(*) from gyosha where houjin_bango is null").fetchone()[0] > 0  # sole proprietors
    assert con.execute("select count(*) from keiyaku where updated_at > ?", (start,)).fetchone()[0] > 0
    assert con.execute("select count(*) from gyosha where deleted_at is not null").fetchone()[0] + \
        con.execute("select count(*) from keiyaku where deleted_at is not null").fetchone()[0] > 0
    bad = {r[0] for r in con.execute("select gyosha_id, houjin_bango from gyosha") if r[1] and not houjin_valid(r[1])}
    assert bad == manifest_lines(city, "field_issue", "bad_check_digit_houjin", "keiyaku.sqlite#gyosha")
    assert any(s.startswith(("(株)", "㈱", "（株）")) or s.endswith(("(株)", "㈱", "（株）"))
               for (s,) in con.execute("select shogo from gyosha"))


@pytest.mark.postgres
def test_keiyaku_to_postgres_matches_sqlite(tmp_path, pg_database):
    cfg = SimConfig(residents=600, days=2, seed=3)
    simulate(tmp_path / "a" / "landing", tmp_path / "a" / "truth", cfg)
    simulate(tmp_path / "b" / "landing", tmp_path / "b" / "truth", cfg, keiyaku_dsn=pg_database)
    assert not (tmp_path / "b" / "landing" / "keiyaku" / "keiyaku.sqlite").exists()
    lite = sqlite3.connect(tmp_path / "a" / "landing" / "keiyaku" / "keiyaku.sqlite")
    with psycopg.connect(pg_database) as pg:
        for table, key in (("gyosha", "gyosha_id"), ("nyusatsu", "nyusatsu_id"), ("keiyaku", "keiyaku_id")):
            a = lite.execute(f"select * from {table} order by {key}").fetchall()
            b = [tuple(r) for r in pg.execute(f"select * from {table} order by {key}").fetchall()]
            assert a and a == b
    with pytest.raises(RuntimeError, match="already exist"):
        simulate(tmp_path / "c" / "landing", tmp_path / "c" / "truth", cfg, keiyaku_dsn=pg_database)


# --- hojokin and madoguchi ---------------------------------------------------------------------------------
def test_hojokin_documents_and_newest_version(city):
    versions = defaultdict(list)
    for path in files(city, "hojokin/*/shinsei_*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert {"shinseisha", "tenpu_shorui", "updated_at", "shinsa_status"} <= set(doc)
        assert doc["shinseisha"]["kubun"] in ("kojin", "hojin")
        if "shinsei_bango" in doc:
            versions[doc["shinsei_bango"]].append(doc["updated_at"])
    assert any(len(v) > 1 for v in versions.values())  # a later delivery supersedes
    hours = Counter(int(d[11:13]) for f in files(city, "hojokin/*/*.json")
                    for d in [json.loads(f.read_text(encoding="utf-8"))["shinsei_nichiji"]])
    assert any(h < 8 or h >= 18 for h in hours)  # the 24-hour city hall


def test_madoguchi_bom_lf_and_cases(city):
    cases = Counter()
    for path in files(city, "madoguchi/*/uketsuke_*.csv"):
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0] == MADO_COLUMNS
        for r in rows[1:]:
            if len(r) == len(MADO_COLUMNS):
                cases[r[1]] += 1
    assert max(cases.values()) >= 2  # a life event groups several procedures in one case
    assert city.manifest["unclosed"] == [f"madoguchi/{(city.config.start + __import__('datetime').timedelta(days=city.config.days)):%Y%m%d}"]
    assert not (city.landing / city.manifest["unclosed"][0] / "_SUCCESS").exists()


# --- truth -----------------------------------------------------------------------------------------------
