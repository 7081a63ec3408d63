"""What a broken or hostile landing zone found (issue 16, ingestion): a folder name never ends the run, and
the landing zone is not a way to read the machine."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from core import lake
from ingestion.pipeline import ingest
from tests.fixtures import handmade


@pytest.fixture
def zone(tmp_path) -> tuple[Path, dict]:
    manifest = handmade.build(tmp_path / "zone")
    return tmp_path / "zone" / "landing", manifest


def _statuses(report) -> dict[str, tuple[str, str | None]]:
    return {f"{d.system}/{d.delivery}": (d.status, d.error) for d in report.deliveries}


def test_folder_names_that_are_not_deliveries_never_end_the_run(home, zone):
    landing, _ = zone
    first = sorted(p.name for p in (landing / "zei").iterdir() if p.is_dir())[0]
    ahead = (dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date() + dt.timedelta(days=5)).strftime("%Y%m%d")
    for name in ("00000000", "20261399", ahead):
        shutil.copytree(landing / "zei" / first, landing / "zei" / name)
    (landing / "zei" / "notes").mkdir()
    (landing / "juki" / "backup-old").mkdir()
    report = ingest(landing)  # no exception: every system is ingested
    st = _statuses(report)
    assert st["zei/notes"][0] == "ignored" and st["juki/backup-old"][0] == "ignored"
    assert st["zei/00000000"][0] == "failed" and "not a valid date" in st["zei/00000000"][1]
    assert st["zei/20261399"][0] == "failed" and "not a valid date" in st["zei/20261399"][1]
    assert st[f"zei/{ahead}"][0] == "failed" and "after today" in st[f"zei/{ahead}"][1]
    assert st[f"zei/{first}"][0] == "loaded"  # 00000000 sorts first and holds nothing back
    con = lake.connect()
    try:
        loaded = {r[0] for r in con.execute("select distinct system from lake.ops.deliveries "
                                            "where status = 'loaded'").fetchall()}
        assert {"juki", "zei", "kokuho", "houjin"} <= loaded
    finally:
        con.close()


def test_links_and_paths_outside_the_landing_zone_are_refused(home, zone, tmp_path):
    landing, _ = zone
    day = sorted(p.name for p in (landing / "zei").iterdir() if p.is_dir())[0]
    folder = landing / "zei" / day
    target = next(p for p in folder.iterdir() if p.is_file() and p.name != "_SUCCESS")
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 3, encoding="utf-8")
    target.unlink()
    os.symlink(secret, target)  # a delivered "file" that points at the machine
    outside = tmp_path / "elsewhere"
    shutil.copytree(landing / "kokuho" / "20261101", outside)
    os.symlink(outside, landing / "kokuho" / "20261130")  # a whole delivery folder that is a link
    report = ingest(landing)
    st = _statuses(report)
    assert st[f"zei/{day}"][0] == "failed" and "symbolic link" in st[f"zei/{day}"][1]
    assert st["kokuho/20261130"][0] == "failed" and "symbolic link" in st["kokuho/20261130"][1]
    con = lake.connect()
    try:
        raw = " ".join(str(r) for r in con.execute("select * from lake.quarantine.rows").fetchall())
        assert "root:x:0:0" not in raw
        assert not con.execute("select count(*) from lake.bronze.zei__kazei where _file like ?",
                               [f"%{day}%"]).fetchone()[0]
    finally:
        con.close()


def _ingest_processes(env: dict, landing: Path, n: int = 2) -> list:
    import subprocess

    from tests.support.commands import popen_cli

    procs = [popen_cli("ingest", "--landing", str(landing), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True) for _ in range(n)]
    return [(p.wait(timeout=600), *p.communicate()) for p in procs]


def _loaded_twice(home: Path, keys: Path) -> tuple[int, int]:
    from core.settings import Settings

    con = lake.connect(Settings(home=home, keys_dir_override=keys), read_only=True)
    try:
        twice = con.execute("select count(*) from (select system, delivery from lake.ops.deliveries where status in "
                            "('loaded', 'resend') group by all having count(*) > 1)").fetchone()[0]
        rows = con.execute("select count(*) from lake.bronze.juki__jumin").fetchone()[0]
    finally:
        con.close()
    return twice, rows


def test_two_ingest_runs_at_once_load_nothing_twice(tmp_path, zone):
    landing, _ = zone
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")}
    env |= {"ONESOURCE_KEYS_DIR": str(tmp_path / "keys"), "ONESOURCE_HOME": str(tmp_path / "both")}
    for code, _out, err in _ingest_processes(env, landing):
        assert code in (0, 1) and "Traceback" not in err, err[-2000:]  # 1: the zone's own failed delivery
    twice, rows = _loaded_twice(tmp_path / "both", tmp_path / "keys")
    env["ONESOURCE_HOME"] = str(tmp_path / "alone")
    _ingest_processes(env, landing, n=1)
    assert twice == 0 and rows == _loaded_twice(tmp_path / "alone", tmp_path / "keys")[1]


@pytest.mark.postgres
def test_two_ingest_runs_at_once_on_postgres_claim_each_delivery(tmp_path, zone, pg_database):
    landing, _ = zone
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")}
    env |= {"ONESOURCE_KEYS_DIR": str(tmp_path / "keys"), "ONESOURCE_HOME": str(tmp_path / "pg"),
            "ONESOURCE_CATALOG_DSN": pg_database, "ONESOURCE_ENCRYPT_DATA": "false"}
    for code, _out, err in _ingest_processes(env, landing):
        assert code in (0, 1) and "Traceback" not in err, err[-2000:]
    from pydantic import SecretStr

    from core.settings import Settings

    con = lake.connect(Settings(home=tmp_path / "pg", keys_dir_override=tmp_path / "keys",
                                catalog_dsn=SecretStr(pg_database), encrypt_data=False), read_only=True)
    try:
        twice = con.execute("select count(*) from (select system, delivery from lake.ops.deliveries where status in "
                            "('loaded', 'resend') group by all having count(*) > 1)").fetchone()[0]
    finally:
        con.close()
    assert twice == 0


def _append_jsonl(path: Path, lines: list[str]) -> None:
    path.write_bytes(path.read_bytes() + "".join(x + "\n" for x in lines).encode("utf-8"))


def test_a_bad_record_is_quarantined_not_the_delivery(home, zone):
    import openpyxl

    landing, _ = zone
    rel = "kokuho/20261101/kokuho_shikaku_full_20261101.jsonl"
    before = len((landing / rel).read_bytes().splitlines())
    deep = '{"hihokensha_bango": "10000020", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    surrogate = '{"hihokensha_bango": "10000021", "shimei": "\\ud800 市川"}'
    _append_jsonl(landing / rel, [deep, surrogate])
    book = landing / "kosodate" / "20261101" / "hoiku_moushikomi_R8.xlsx"
    wb = openpyxl.load_workbook(book)
    ws = wb.active
    ws.cell(row=10, column=5, value=dt.time(10, 30))  # 保護者生年月日: a time of day
    ws.cell(row=10, column=2, value=20251023).number_format = "General"  # 申込日: an 8-digit number, YYYYMMDD
    wb.save(book)
    report = ingest(landing)
    st = _statuses(report)
    assert st["kokuho/20261101"][0] == "loaded" and st["kosodate/20261101"][0] == "loaded"
    con = lake.connect()
    try:
        q = dict(con.execute("select line, reason from lake.quarantine.rows where file = ?", [rel]).fetchall())
        assert q[before + 1] == "invalid_json" and q[before + 2] == "invalid_json"
        read = con.execute("select rows_read, rows_loaded, rows_quarantined from lake.ops.load_ledger where file = ?",
                           [rel]).fetchone()
        assert read[0] == before + 2 and read[0] == read[1] + read[2]
        issues = con.execute("select field, reason from lake.quarantine.field_issues where file like '%hoiku%' "
                             "and line = 10").fetchall()
        assert ("hogosha_seinengappi", "invalid_date") in issues
        applied = con.execute("select moushikomi_ymd from lake.bronze.kosodate__moushikomi where _line = 10").fetchone()
        assert applied[0] == dt.date(2025, 10, 23)
    finally:
        con.close()


def test_cr_only_line_endings_fail_the_file_with_a_reason(home, zone):
    landing, _ = zone
    folder = landing / "madoguchi" / "20261101"
    target = next(p for p in folder.iterdir() if p.suffix == ".csv")
    target.write_bytes(target.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r"))
    report = ingest(landing)
    status, error = _statuses(report)["madoguchi/20261101"]
    assert status == "failed" and target.name in error and "CR alone" in error and "line 1" in error


def test_a_document_of_the_wrong_shape_is_flagged_and_kept(home, zone):
    import json

    from tests.fixtures.handmade import _shinsei

    landing, _ = zone
    listed = _shinsei("HJ-2026-000010")
    listed["shinseisha"] = [listed["shinseisha"]]  # the applicant as a one-element list
    texted = _shinsei("HJ-2026-000011")
    texted["shinseisha"]["jusho"] = "千葉県市川市八幡1-1-1"  # the address as one text
    for doc in (listed, texted):
        (landing / "hojokin" / "20261101" / f"shinsei_{doc['shinsei_bango']}.json").write_text(
            json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    ingest(landing)
    con = lake.connect()
    try:
        rows = dict(con.execute("select shinsei_bango, _overflow from lake.bronze.hojokin__shinsei "
                                "where shinsei_bango in ('HJ-2026-000010', 'HJ-2026-000011')").fetchall())
        assert json.loads(rows["HJ-2026-000010"])["shinseisha"][0]["shimei_or_meisho"] == "市川 太郎"
        assert json.loads(rows["HJ-2026-000011"])["shinseisha.jusho"] == "千葉県市川市八幡1-1-1"
        flagged = con.execute("select record_key, field, reason from lake.quarantine.field_issues "
                              "where record_key in ('HJ-2026-000010', 'HJ-2026-000011')").fetchall()
        assert {(k, r) for k, _f, r in flagged} == {("HJ-2026-000010", "invalid_value"),
                                                    ("HJ-2026-000011", "invalid_value")}
        assert len([f for k, f, _r in flagged if k == "HJ-2026-000010"]) >= 3  # every applicant field
    finally:
        con.close()


def _sqlite(path: Path, *statements: str) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def test_the_contract_databases_watermark_is_a_time_not_a_string(home, zone):
    """A change written as SQLite writes times, or with Z, is read; a NULL or unreadable updated_at is
    quarantined once, naming the row, and does not stop later runs; fixed, it is loaded."""
    landing, _ = zone
    db = landing / "keiyaku" / "keiyaku.sqlite"
    _sqlite(db, "create table g2 as select * from gyosha", "drop table gyosha",  # updated_at may now be NULL
            "alter table g2 rename to gyosha")
    ingest(landing, systems=["keiyaku"])  # the watermark of gyosha: 2026-10-02T10:00:00+09:00
    _sqlite(db, "update gyosha set shogo = '株式会社市川建設', updated_at = '2026-11-04 15:00:00' where gyosha_id = 1",
            "insert into gyosha (gyosha_id, shogo, updated_at) values (4, '市川物産', '2026-11-04T06:30:00Z')",
            "insert into gyosha (gyosha_id, shogo, updated_at) values (5, '八幡商事', null)",
            "insert into gyosha (gyosha_id, shogo, updated_at) values (6, '行徳興業', '昨日の夕方')",
            # earlier than the watermark as an instant, later as a string ('2026-10-02 0' < '2026-10-02T'): not new
            "insert into gyosha (gyosha_id, shogo, updated_at) values (7, '妙典工務店', '2026-10-01 09:00:00')")
    report = ingest(landing, systems=["keiyaku"])
    d = report.deliveries[0]
    assert d.status == "loaded", d.error
    assert d.rows["read"] == 4 and d.rows["quarantined"] == 2
    con = lake.connect()
    try:
        loaded = [r[0] for r in con.execute("select gyosha_id from lake.bronze.keiyaku__gyosha order by _batch_id, "
                                            "gyosha_id").fetchall()]
        assert loaded == [1, 2, 1, 4]
        q = dict(con.execute("select line, detail from lake.quarantine.rows where system = 'keiyaku' and "
                             "reason = 'invalid_watermark'").fetchall())
        assert set(q) == {5, 6} and "null" in q[5] and "not a date and time" in q[6]
        mark = con.execute("select watermark from lake.ops.watermarks where table_name = 'keiyaku__gyosha' "
                           "order by recorded_at desc limit 1").fetchone()[0]
        assert mark == "2026-11-04T15:30:00+09:00"  # 06:30Z, the newest instant, in Japan time
    finally:
        con.close()
    again = ingest(landing, systems=["keiyaku"]).deliveries[0]
    assert again.status == "unchanged"  # the unreadable rows are not quarantined a second time
    _sqlite(db, "update gyosha set updated_at = '2026-09-30T12:00:00+09:00' where gyosha_id = 5")
    fixed = ingest(landing, systems=["keiyaku"]).deliveries[0]
    assert fixed.status == "loaded" and fixed.rows["read"] == 1 and fixed.rows["loaded"] == 1
    con = lake.connect()
    try:
        assert con.execute("select count(*) from lake.bronze.keiyaku__gyosha where gyosha_id = 5").fetchone()[0] == 1
        assert con.execute("select count(*) from lake.quarantine.rows where system = 'keiyaku'").fetchone()[0] == 2
    finally:
        con.close()
    assert ingest(landing, systems=["keiyaku"]).deliveries[0].status == "unchanged"


def test_a_line_break_inside_a_quoted_field_is_one_record(home, zone):
    landing, _ = zone
    path = landing / "madoguchi" / "20261101" / "uketsuke_20261101.csv"
    lines = path.read_bytes().decode("utf-8-sig").split("\n")
    header, first = lines[0], lines[1]
    cells = first.split(",")
    cells[0], cells[7] = "U2026110100098", '"転入届\n（続柄の訂正を含む）"'  # 手続名 typed over two lines
    after = first.replace("U2026110100001", "U2026110100099")
    truncated = first.replace("U2026110100001", "U2026110100097").replace(",転入届,", ',"転入届,')  # never closed
    body = "\n".join([header, *lines[1:-1], ",".join(cells), after, truncated, after.replace("99,", "96,")]) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    physical = body.count("\n") - 1  # lines after the header; the broken field spans two of them
    ingest(landing, systems=["madoguchi"])
    con = lake.connect()
    try:
        got = dict(con.execute("select uketsuke_bango, tetsuzuki_mei from lake.bronze.madoguchi__uketsuke "
                               "where _file like '%20261101%'").fetchall())
        assert got["U2026110100098"] == "転入届\n（続柄の訂正を含む）"
        assert "U2026110100099" in got and "U2026110100096" in got and "U2026110100097" not in got
        q = con.execute("select left(raw_text, 14), reason from lake.quarantine.rows where file like "
                        "'%uketsuke_20261101%' and raw_text like 'U202611010009%'").fetchall()
        assert q == [("U2026110100097", "truncated_line")]  # the quote that never closes: that line alone
        read = con.execute("select rows_read from lake.ops.load_ledger where file like '%uketsuke_20261101%'"
                           ).fetchone()[0]
        assert read == physical - 1  # two lines, one record
    finally:
        con.close()


def test_a_consistent_extra_trailing_column_of_a_headerless_file_is_schema_drift(home, zone):
    import json

    landing, _ = zone
    path = landing / "houjin" / "20261101" / "12_chiba_all_20261101.csv"
    lines = [x for x in path.read_bytes().split(b"\n") if x]
    path.write_bytes(b"".join(x + ',"R8新設"\n'.encode() for x in lines))
    report = ingest(landing, systems=["houjin"])
    d = next(d for d in report.deliveries if d.delivery == "20261101")
    assert d.status == "loaded" and d.files[0].unknown_columns == ["column_31"]
    assert d.rows["read"] == len(lines) and d.rows["read"] == d.rows["loaded"] + d.rows["quarantined"]
    assert d.rows["quarantined"] <= 1  # the file's one short line now loads: it is as wide as the contract
    con = lake.connect()
    try:
        overflow = [json.loads(o) for (o,) in con.execute("select _overflow from lake.bronze.houjin__hojin where "
                                                          "_file like '%20261101%' and _overflow is not null").fetchall()]
        assert len(overflow) == d.rows["loaded"] - 1 >= 2 and all(o == {"column_31": "R8新設"} for o in overflow)
        drift = con.execute("select column_name from lake.ops.schema_drift where system = 'houjin'").fetchall()
        assert drift == [("column_31",)]
    finally:
        con.close()


def test_an_empty_file_is_reported_and_a_file_changed_after_its_load_is_named_then_reloaded(home, zone):
    from tests.support.commands import run_cli

    landing, _ = zone
    empty = landing / "kokuho" / "20261102" / "kokuho_shikaku_20261102.jsonl"
    empty.write_bytes(b"")
    report = ingest(landing)
    files = {f.file: f.status for d in report.deliveries for f in d.files}
    assert files["kokuho/20261102/kokuho_shikaku_20261102.jsonl"] == "empty"
    assert any("kokuho_shikaku_20261102.jsonl is empty (0 bytes)" in w for w in report.warnings)
    con = lake.connect()
    try:
        assert con.execute("select status, rows_read from lake.ops.load_ledger where file like "
                           "'%kokuho_shikaku_20261102%'").fetchall() == [("empty", 0)]
        before = con.execute("select count(*) from lake.bronze.juki__jumin where _batch_id = 'juki/20261101'"
                             ).fetchone()[0]
    finally:
        con.close()
    # the registry's first delivery corrected in place: one person removed, the file otherwise the same
    full = next(p for p in (landing / "juki" / "20261101").iterdir() if p.name.startswith("juki_full"))
    lines = full.read_bytes().split(b"\r\n")
    full.write_bytes(b"\r\n".join(lines[:1] + lines[2:]))
    (landing / "juki" / "20261101" / "juki_memo.txt").write_text("added later", encoding="utf-8")
    again = ingest(landing)
    changed = [d for d in again.deliveries if d.status == "changed"]
    assert [(d.system, d.delivery) for d in changed] == [("juki", "20261101")]
    assert f"{full.name} changed" in changed[0].error
    assert "juki_memo.txt" not in changed[0].error  # a note added beside the data is not a change of the data
    assert "onesource ingest --reload juki/20261101" in changed[0].error
    assert not [d for d in again.failed if d.system == "juki"]  # reported, not failed: the refresh goes on
    # a scheduled job learns it from the exit status: 4, a delivery to reload (0 would say all is well)
    plain = run_cli("ingest", "--landing", str(landing), "--system", "juki")  # (another system fails: 1)
    assert plain.returncode == 4 and "--reload juki/20261101" in plain.stderr, (plain.returncode, plain.stderr)
    (landing / "juki" / "20261101" / "juki_memo.txt").unlink()
    cli = run_cli("ingest", "--landing", str(landing), "--reload", "juki/20261101")
    assert cli.returncode in (0, 1) and "Traceback" not in cli.stderr, cli.stderr[-2000:]
    con = lake.connect()
    try:
        after = con.execute("select count(*) from lake.bronze.juki__jumin where _batch_id = 'juki/20261101'"
                            ).fetchone()[0]
        assert after == before - 1
        ledger_rows = con.execute("select count(*) from lake.ops.load_ledger where file = ?",
                                  [f"juki/20261101/{full.name}"]).fetchone()[0]
        assert ledger_rows == 1
    finally:
        con.close()
    assert not [d for d in ingest(landing).deliveries if d.status == "changed"]
    refused = run_cli("ingest", "--landing", str(landing), "--reload", "juki/2026-11-01")
    assert refused.returncode == 2 and "not a delivery day" in refused.stderr


def test_a_system_that_does_not_exist_is_a_usage_error(home, zone):
    """``--system nosuch`` loaded nothing and exited 0: a typo in a scheduled job would go unnoticed for ever."""
    from tests.support.commands import run_cli

    landing, _ = zone
    done = run_cli("ingest", "--landing", str(landing), "--system", "nosuch", "--system", "juki")
    assert done.returncode == 2 and "no such system: nosuch" in done.stderr and "juki" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_stray_or_badly_named_file_is_left_alone_and_never_ends_the_run(home, zone):
    """A file name that is not UTF-8 stopped the whole run (rc 2, on every rerun, the systems after it never
    loaded); a stray ``.DS_Store``, archive or sub-folder failed its delivery and held back the system's later
    ones. What is not a data file of the system is reported and left alone; the delivery loads; links stay
    refused."""
    import os

    from tests.support.commands import run_cli

    landing, _ = zone
    madoguchi = sorted(p for p in (landing / "madoguchi").iterdir() if p.is_dir())
    day = next(p for p in madoguchi if any(f.name.startswith("uketsuke") for f in p.iterdir()))
    raw = os.fsencode(day) + b"/uketsuke_2026\xff.csv"
    with open(raw, "wb") as fh:
        fh.write(b"not a delivery file\n")
    juki = sorted(p for p in (landing / "juki").iterdir() if p.is_dir())[0]
    (juki / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (juki / "old.zip").write_bytes(b"PK\3\4")
    (juki / "extra").mkdir()
    report = ingest(landing)
    st = _statuses(report)
    assert st[f"juki/{juki.name}"][0] == "loaded", st[f"juki/{juki.name}"]
    assert {d.system for d in report.deliveries if d.status == "loaded"} >= {"juki", "zei", "kokuho"}
    said = "\n".join(report.warnings)
    for name in (f"juki/{juki.name}/.DS_Store", f"juki/{juki.name}/old.zip", f"juki/{juki.name}/extra",
                 f"madoguchi/{day.name}/uketsuke_2026\\xff.csv"):
        assert f"{name}: not a" in said and "left alone" in said, (name, said)
    con = lake.connect()
    try:
        kept = {r[0] for r in con.execute("select file from lake.ops.load_ledger where status = 'left_alone'"
                                          ).fetchall()}
        assert f"madoguchi/{day.name}/uketsuke_2026\\xff.csv" in kept and f"juki/{juki.name}/old.zip" in kept
    finally:
        con.close()
    again = run_cli("ingest", "--landing", str(landing), "--system", "juki", "--system", "zei")
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr[-2000:]
    assert not [d for d in ingest(landing).deliveries if d.status == "changed"]  # strays are no change


def test_a_number_too_large_is_a_flagged_field_not_a_failed_delivery(home, zone):
    """A JSON integer of more than 4,300 digits failed its whole kokuho delivery with a traceback, in an unknown
    key or in the key itself; an integer beyond int64 failed the delivery with OverflowError (hojokin's
    申請金額 10**30 unloaded all its documents, a 20-digit 来庁回数 all of a madoguchi day's rows). Each is now a
    flagged field or a quarantined record with its reason, and the rest of the delivery loads."""
    import csv
    import io
    import json

    from tests.fixtures.handmade import _shinsei

    landing, _ = zone
    huge = "9" * 5000
    rel = "kokuho/20261101/kokuho_shikaku_full_20261101.jsonl"
    before = len((landing / rel).read_bytes().splitlines())
    _append_jsonl(landing / rel, ['{"hihokensha_bango": "10000030", "shimei": "市川 一郎", "bikou_x": ' + huge + "}",
                                  '{"hihokensha_bango": ' + huge + ', "shimei": "市川 二郎"}'])
    doc = _shinsei("HJ-2026-000012")
    doc["shinsei_kingaku"] = 10 ** 30
    (landing / "hojokin" / "20261101" / "shinsei_HJ-2026-000012.json").write_text(json.dumps(doc), encoding="utf-8")
    folder = landing / "madoguchi" / "20261101"
    uketsuke = next(p for p in folder.iterdir() if p.name.startswith("uketsuke"))
    text = uketsuke.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("来庁回数")
    rows[1][column] = "1" * 20
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    uketsuke.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    report = ingest(landing)
    st = _statuses(report)
    for delivery in ("kokuho/20261101", "hojokin/20261101", "madoguchi/20261101"):
        assert st[delivery][0] == "loaded", (delivery, st[delivery])
    con = lake.connect()
    try:
        read, loaded, quarantined = con.execute(
            "select rows_read, rows_loaded, rows_quarantined from lake.ops.load_ledger where file = ?", [rel]).fetchone()
        assert read == before + 2 and loaded + quarantined == read
        kept = con.execute("select _overflow from lake.bronze.kokuho__shikaku where hihokensha_bango = '10000030'"
                           ).fetchone()
        assert kept is not None and huge in kept[0]  # the unknown key's value kept as delivered
        issues = set(con.execute("select field, reason from lake.quarantine.field_issues where reason = "
                                 "'out_of_range'").fetchall())
        assert ("shinsei_kingaku", "out_of_range") in issues and ("raicho_kaisu", "out_of_range") in issues
        assert con.execute("select count(*) from lake.bronze.hojokin__shinsei where shinsei_bango = "
                           "'HJ-2026-000012' and shinsei_kingaku is null").fetchone()[0] == 1
        flagged = con.execute("select raicho_kaisu from lake.bronze.madoguchi__uketsuke where _batch_id = "
                              "'madoguchi/20261101' and _line = 2").fetchone()
        assert flagged == (None,)  # the record loaded, its 来庁回数 null and flagged
    finally:
        con.close()


def test_a_byte_order_mark_is_accepted_wherever_it_can_occur(home, zone):
    """A UTF-8 BOM in front of a kokuho file quarantined its first good record; in front of a CP932 juki file it
    failed the delivery; in front of the tax ledger's fixed-width records it would shift every byte range."""
    landing, _ = zone
    files = [next(p for p in (landing / system / "20261101").iterdir() if p.name.startswith(prefix))
             for system, prefix in (("kokuho", "kokuho_shikaku_full"), ("juki", "juki_full"), ("zei", "kojin"))]
    for path in files:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    report = ingest(landing)
    st = _statuses(report)
    assert all(st[f"{s}/20261101"][0] == "loaded" for s in ("kokuho", "juki", "zei")), st
    con = lake.connect()
    try:
        for path in files:
            rel = path.relative_to(landing).as_posix()
            first = con.execute("select line, reason from lake.quarantine.rows where file = ? and line = 1",
                                [rel]).fetchall()
            assert not first or first[0][1] == "header", (rel, first)  # line 1 loads (or is the header)
            assert con.execute("select count(*) from lake.quarantine.rows where file = ? and reason in "
                               "('invalid_json', 'wrong_width', 'truncated_record') and line <= 2", [rel]
                               ).fetchone()[0] == 0, rel
    finally:
        con.close()


def test_a_late_delivery_loads_and_says_it_came_out_of_order(home, zone):
    landing, _ = zone
    days = sorted(p.name for p in (landing / "juki").iterdir() if p.is_dir())
    held = landing.parent / "held"
    shutil.move(landing / "juki" / days[0], held)  # the first day's extract arrives after the others
    ingest(landing)
    shutil.move(held, landing / "juki" / days[0])
    report = ingest(landing)
    assert _statuses(report)[f"juki/{days[0]}"][0] == "loaded"
    said = "\n".join(report.warnings)
    assert f"juki/{days[0]} arrived after juki/" in said and "koshin_nichiji" in said, said

