"""Ingestion end to end: three landing zones reconcile exactly against their manifests,
deliveries are atomic and idempotent, drift and failures are reported."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from core import lake
from core.faults import ENV as FAULT_ENV
from ingestion.pipeline import ingest
from tests.fixtures import handmade
from tests.ingestion.reconcile import assert_reconciles, load_manifest
from tests.support.commands import run_cli
from tests.support.paths import EXAMPLES


@pytest.fixture
def zone(tmp_path) -> tuple[Path, dict]:
    manifest = handmade.build(tmp_path / "zone")
    return tmp_path / "zone" / "landing", manifest


def _statuses(report) -> dict[str, str]:
    return {f"{d.system}/{d.delivery}": d.status for d in report.deliveries}


def test_spec_example_zone_reconciles_exactly(home):
    report = ingest(EXAMPLES / "landing")
    st = _statuses(report)
    assert st["houjin/20261103"] == "resend"
    assert st["madoguchi/20261103"] == "waiting"
    assert not report.failed
    con = lake.connect()
    led = assert_reconciles(con, load_manifest(EXAMPLES))
    assert led["houjin/20261103/diff_20261102.csv"]["status"] == "resend_skipped"
    # the example's kokuho vendor added a key on 20261102: kept, reported
    drift = con.execute("select system, column_name from lake.ops.schema_drift").fetchall()
    assert ("kokuho", "shikaku_kakuninsho_kofu_ymd") in drift


def test_simulated_city_reconciles_exactly(home, city):
    report = ingest(city.landing)
    assert not report.failed
    con = lake.connect()
    assert_reconciles(con, city.manifest)
    total = con.execute("select sum(rows_read) from lake.ops.load_ledger").fetchone()[0]
    assert total > 10_000
    # the vendors' keys added half-way are kept in _overflow and reported
    drift = {r[0] for r in con.execute("select distinct column_name from lake.ops.schema_drift").fetchall()}
    assert {d["new_key"] for d in city.manifest["schema_drift"]} <= drift
    kept = con.execute("select count(*) from lake.bronze.kokuho__shikaku where _overflow like '%kofu_kubun%'")
    assert kept.fetchone()[0] > 0


def test_hand_made_zone_reconciles_and_reports_failure_drift_and_waiting(home, zone):
    landing, manifest = zone
    report = ingest(landing)
    st = _statuses(report)
    assert st["juki/20261104"] == "waiting"
    assert st["kokuho/20261103"] == "resend" and st["houjin/20261103"] == "resend"
    assert [f"{d.system}/{d.delivery}" for d in report.failed] == ["madoguchi/20261102"]
    err = report.failed[0].error
    assert "madoguchi/20261102/uketsuke_20261102.csv" in err and "担当課" in err
    assert "madoguchi/20261103" not in st  # waits behind the failed delivery, in date order
    con = lake.connect()
    assert_reconciles(con, manifest)
    # other systems went on loading after the failure
    assert con.execute("select count(*) from lake.bronze.zei__kazei").fetchone()[0] == 6
    failed = con.execute("select error from lake.ops.deliveries where status = 'failed'").fetchall()
    assert len(failed) == 1 and "担当課" in failed[0][0]
    # drift: the new CSV column is kept per row, in _overflow
    overflow = con.execute("select _overflow from lake.bronze.juki__jumin where _file like '%20261103%'").fetchall()
    assert json.loads(overflow[0][0]) == {"連絡先": "090-0000-0000"}


def test_an_unreadable_file_fails_its_delivery_only(home, zone):
    landing, _ = zone
    (landing / "kosodate" / "20261101" / "hoiku_moushikomi_R8.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    (landing / "hojokin" / "20261101" / "notes.txt").write_text("a stray file", encoding="utf-8")
    report = ingest(landing)
    failed = {f"{d.system}/{d.delivery}": d.error for d in report.failed}
    assert "not a readable xlsx" in failed["kosodate/20261101"]
    assert "hojokin/20261101" not in failed  # a stray note is left alone, its delivery loads
    assert any("hojokin/20261101/notes.txt" in w and "left alone" in w for w in report.warnings)
    con = lake.connect()
    assert con.execute("select count(*) from lake.bronze.juki__jumin").fetchone()[0] > 0
    assert con.execute("select count(*) from lake.bronze.kosodate__moushikomi").fetchone()[0] == 0


def test_bronze_keeps_values_as_delivered_with_load_metadata(home, zone):
    landing, _ = zone
    ingest(landing)
    con = lake.connect()
    cols = [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = 'lake' and schema_name = 'bronze' "
        "and table_name = 'juki__jumin' order by column_index").fetchall()]
    assert cols[:3] == ["atena_bango", "setai_bango", "kojin_bango_token"]
    assert {"_system", "_delivery_date", "_file", "_file_sha256", "_line", "_batch_id", "_loaded_at"} <= set(cols)
    row = con.execute("select shimei, seinengappi, katagaki, _line, _file_sha256 from lake.bronze.juki__jumin "
                      "where atena_bango = ?", [handmade.A[0]]).fetchone()
    assert row[0] == "髙橋　﨑子" and row[1] == "3450312" and row[2] == "サンハイツ１０１号室" and row[3] == 2
    assert len(row[4]) == 64
    unknown_day = con.execute("select seinengappi from lake.bronze.juki__jumin where atena_bango = ?",
                              [handmade.A[1]]).fetchone()[0]
    assert unknown_day == "3450300"  # the day is unknown and stays so
    gaiji = con.execute("select shimei from lake.bronze.juki__jumin where atena_bango = ?", [handmade.A[9]])
    assert gaiji.fetchone()[0] == "〓田　花子"
    # zei: sliced by bytes, padding dropped, 住登外者 kept
    z = con.execute("select shimei, shimei_kana, sogokei_shotoku, kazei_kubun from lake.bronze.zei__kazei "
                    "where atena_bango = ?", [handmade.A[0]]).fetchall()
    assert ("髙橋　﨑子", "イチカワ　タロウ", 3500000, "1") in z and len(z) == 2  # ledger + its correction
    assert con.execute("select count(*) from lake.bronze.zei__kazei where atena_bango like '9%'").fetchone()[0] == 1
    # kosodate: dates in any form, lost zeros restored
    k = dict(con.execute("select moushikomi_bango, hogosha_seinengappi from lake.bronze.kosodate__moushikomi")
             .fetchall())
    assert str(k["R8-00001"]) == "1985-04-01" and k["R8-00002"] is None and str(k["R8-00005"]) == "1970-03-12"
    atena = con.execute("select jido_atena_bango from lake.bronze.kosodate__moushikomi where moushikomi_bango = "
                        "'R8-00001'").fetchone()[0]
    assert atena == handmade.A[0]
    # field issues keep the raw value and the reason, the field is null in bronze
    issue = con.execute("select field, raw_value from lake.quarantine.field_issues where reason = 'unknown_code' "
                        "and system = 'zei'").fetchone()
    assert issue == ("kazei_kubun", "9")
    q = con.execute("select field, raw_text from lake.quarantine.rows where reason = 'undecodable_bytes' "
                    "and system = 'juki'").fetchone()
    assert q[0] == "shimei" and "\ufffd" in q[1]


def test_hojokin_newest_updated_at_wins(home, zone):
    landing, _ = zone
    ingest(landing)
    con = lake.connect()
    versions = con.execute("select count(*) from lake.bronze.hojokin__shinsei where shinsei_bango = 'HJ-2026-000001'")
    assert versions.fetchone()[0] == 2
    current = con.execute("select shinsa_status from lake.bronze.hojokin__shinsei_current "
                          "where shinsei_bango = 'HJ-2026-000001'").fetchall()
    assert current == [("交付決定",)]


def test_second_run_changes_nothing(home, zone):
    landing, _ = zone
    ingest(landing)
    con = lake.connect()
    before = _dump(con)
    snapshots = len(lake.snapshots(con))
    con.close()
    report = ingest(landing)
    assert {d.status for d in report.deliveries} <= {"waiting", "failed", "unchanged"}
    con = lake.connect()
    after = _dump(con)
    assert after.keys() == before.keys()
    for name in before:
        if name != "ops.deliveries":  # the failed delivery is retried and fails again, recorded as such
            assert after[name] == before[name], name
    assert len(lake.snapshots(con)) == snapshots + 1  # only the failure record


def test_resend_with_same_bytes_is_skipped(home, zone):
    landing, _ = zone
    ingest(landing)
    con = lake.connect()
    diffs = con.execute("select count(*) from lake.bronze.houjin__hojin where _file like '%diff_20261102.csv'")
    assert diffs.fetchone()[0] == 1
    status = dict(con.execute("select file, status from lake.ops.load_ledger where system = 'kokuho'").fetchall())
    assert status["kokuho/20261103/kokuho_shikaku_full_20261101.jsonl"] == "resend_skipped"


def _dump(con) -> dict[str, list]:
    """Every lake table as sorted rows, without the columns that hold wall-clock times."""
    clock = {"_loaded_at", "loaded_at", "recorded_at", "seen_at", "validated_at"}
    out = {}
    tables = con.execute("select schema_name, table_name from duckdb_tables() where database_name = 'lake' "
                         "order by all").fetchall()
    for schema, table in tables:
        cols = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'lake' and schema_name = ? "
            "and table_name = ? order by column_index", [schema, table]).fetchall() if r[0] not in clock]
        rows = con.execute(f"select {', '.join(cols)} from lake.{schema}.{table}").fetchall()
        out[f"{schema}.{table}"] = sorted(rows, key=repr)
    return out


def _run_cli(env: dict, landing: Path) -> subprocess.CompletedProcess:
    return run_cli("ingest", "--landing", str(landing), env=env, timeout=600)


def test_load_killed_half_way_leaves_nothing_and_rerun_equals_uninterrupted(tmp_path, zone):
    landing, _ = zone
    base = {k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")}
    base["ONESOURCE_KEYS_DIR"] = str(tmp_path / "keys")  # one key: tokens comparable across the two homes
    killed = {**base, "ONESOURCE_HOME": str(tmp_path / "killed"), FAULT_ENV: "ingest:juki/20261103"}
    proc = _run_cli(killed, landing)
    assert proc.returncode == -9, proc.stderr[-2000:]
    con = _connect(tmp_path / "killed", tmp_path / "keys")
    assert con.execute("select count(*) from lake.bronze.juki__jumin where _batch_id = 'juki/20261103'"
                       ).fetchone()[0] == 0
    assert con.execute("select count(*) from lake.ops.load_ledger where batch_id = 'juki/20261103'"
                       ).fetchone()[0] == 0
    loaded = {r[0] for r in con.execute("select batch_id from lake.ops.deliveries").fetchall()}
    assert "juki/20261101" in loaded and "juki/20261103" not in loaded and "zei/20261101" not in loaded
    con.close()
    rerun = _run_cli({**base, "ONESOURCE_HOME": str(tmp_path / "killed")}, landing)
    assert rerun.returncode == 1 and "madoguchi/20261102" in rerun.stderr  # the deliberate failure only
    straight = _run_cli({**base, "ONESOURCE_HOME": str(tmp_path / "straight")}, landing)
    assert straight.returncode == 1
    a = _dump(_connect(tmp_path / "killed", tmp_path / "keys"))
    b = _dump(_connect(tmp_path / "straight", tmp_path / "keys"))
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name


def _connect(home: Path, keys: Path):
    from core.settings import Settings

    return lake.connect(Settings(home=home, keys_dir_override=keys))


def _keiyaku_update(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("update gyosha set shogo = '株式会社市川建設', updated_at = '2026-11-03T09:00:00+09:00' "
                "where gyosha_id = 1")
    # a new vendor whose updated_at equals the watermark already read: must still be picked up
    con.execute("insert into gyosha values (3, null, '市川商店', 'ｲﾁｶﾜｼｮｳﾃﾝ', '市川 三郎', '千葉県市川市市川1-1-1', "
                "'047-000-0003', '物品', '2026-10-02', '2026-10-02T10:00:00+09:00', null)")
    con.execute("update keiyaku set deleted_at = '2026-11-03T10:00:00+09:00', "
                "updated_at = '2026-11-03T10:00:00+09:00' where keiyaku_id = 1")
    con.commit()
    con.close()


def test_keiyaku_is_read_incrementally_with_soft_deletes(home, zone):
    landing, _ = zone
    ingest(landing, systems=["keiyaku"])
    _keiyaku_update(landing / "keiyaku" / "keiyaku.sqlite")
    report = ingest(landing, systems=["keiyaku"])
    rows = report.deliveries[0].rows
    assert rows["read"] == 3  # gyosha 1 (changed), gyosha 3 (new at the old watermark), keiyaku 1 (deleted)
    con = lake.connect()
    g = con.execute("select gyosha_id, shogo from lake.bronze.keiyaku__gyosha order by _batch_id, gyosha_id")
    assert [r[0] for r in g.fetchall()] == [1, 2, 1, 3]
    deleted = con.execute("select deleted_at is not null from lake.bronze.keiyaku__keiyaku order by updated_at")
    assert [r[0] for r in deleted.fetchall()] == [False, True]
    con.close()
    assert ingest(landing, systems=["keiyaku"]).deliveries[0].status == "unchanged"


@pytest.mark.postgres
def test_keiyaku_from_postgresql(home, zone, pg_database, monkeypatch):
    import psycopg

    landing, _ = zone
    (landing / "keiyaku" / "keiyaku.sqlite").unlink()
    with psycopg.connect(pg_database) as pg:
        for ddl in handmade.KEIYAKU_DDL:
            pg.execute(ddl.replace("updated_at TEXT", "updated_at TIMESTAMPTZ").replace("deleted_at TEXT",
                                                                                       "deleted_at TIMESTAMPTZ"))
        for table, rows in handmade.KEIYAKU_ROWS.items():
            marks = ",".join(["%s"] * len(rows[0]))
            with pg.cursor() as cur:
                cur.executemany(f"insert into {table} values ({marks})", rows)
    monkeypatch.setenv("ONESOURCE_KEIYAKU_DSN", pg_database)
    first = ingest(landing, systems=["keiyaku"])
    assert first.deliveries[0].rows["read"] == 4
    con = lake.connect()
    issue = con.execute("select file, line, reason from lake.quarantine.field_issues where system = 'keiyaku' "
                        "order by all").fetchall()
    assert issue == [("postgresql#gyosha", 2, "bad_check_digit_houjin"), ("postgresql#keiyaku", 1, "unknown_code")]
    con.close()
    with psycopg.connect(pg_database) as pg:
        pg.execute("update gyosha set shogo = '株式会社市川建設', updated_at = '2026-11-03T09:00:00+09:00' "
                   "where gyosha_id = 1")
    second = ingest(landing, systems=["keiyaku"])
    assert second.deliveries[0].rows["read"] == 1
    assert ingest(landing, systems=["keiyaku"]).deliveries[0].status == "unchanged"


def test_expectation_results_are_stored_for_every_batch(home, zone):
    landing, _ = zone
    ingest(landing)
    con = lake.connect()
    batches = {r[0] for r in con.execute("select distinct batch_id from lake.ops.load_ledger "
                                         "where status = 'loaded' and rows_loaded > 0").fetchall()}
    checked = {r[0] for r in con.execute("select distinct batch_id from lake.ops.expectation_results").fetchall()}
    assert batches == checked
    failed = con.execute("select count(*) from lake.ops.expectation_results where not success").fetchone()[0]
    assert failed == 0
    kinds = {r[0] for r in con.execute("select distinct expectation from lake.ops.expectation_results").fetchall()}
    assert {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_null",
            "expect_table_columns_to_match_set"} <= kinds
