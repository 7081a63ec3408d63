"""`onesource ingest`: per-system figures, non-zero exit naming a failed delivery."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa

from ingestion import expectations
from ingestion.batch import ARROW_TYPES
from ingestion.contracts import contracts
from tests.fixtures import handmade
from tests.support.commands import run_cli
from tests.support.paths import EXAMPLES


def _cli(home, *args):
    env = {**os.environ, "ONESOURCE_HOME": str(home)}
    return run_cli(*args, env=env, timeout=600)


def test_ingest_example_prints_each_system_and_exits_zero(tmp_path):
    proc = _cli(tmp_path / "home", "ingest", "--landing", str(EXAMPLES / "landing"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    for system in contracts():
        assert system in proc.stdout
    juki = next(line for line in proc.stdout.splitlines() if "│ juki " in line)
    assert "53" in juki and "52" in juki  # rows read, loaded
    assert "waiting: madoguchi/20261103" in proc.stdout
    again = _cli(tmp_path / "home", "ingest", "--landing", str(EXAMPLES / "landing"))
    assert again.returncode == 0


def test_ingest_exits_non_zero_naming_the_failed_delivery(tmp_path):
    handmade.build(tmp_path / "zone")
    proc = _cli(tmp_path / "home", "ingest", "--landing", str(tmp_path / "zone" / "landing"))
    assert proc.returncode == 1
    assert "error: delivery madoguchi/20261102 failed" in proc.stderr and "担当課" in proc.stderr
    assert "schema drift: juki delivers '連絡先'" in proc.stdout


def test_ingest_of_a_missing_landing_zone_is_a_clear_error(tmp_path):
    proc = _cli(tmp_path / "home", "ingest", "--landing", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_expectations_catch_what_the_parsers_should_never_let_through():
    table = contracts()["madoguchi"].tables[0]
    cols = {name: [None, None] for name, _ in table.bronze_columns()}
    cols.update(uketsuke_bango=["U2026110100001", "bad-key"], kyoten=["本庁舎", "市川駅前"], _line=[2, 3])
    kinds = dict(table.bronze_columns())
    batch = pa.table({n: pa.array(v, type=ARROW_TYPES[kinds[n]]) for n, v in cols.items()})
    rows = expectations.run(table, batch, "test/1", dt.datetime.now(dt.UTC))
    failed = {(r[3], r[4]) for r in rows if not r[6]}
    assert ("expect_column_values_to_be_in_set", "kyoten") in failed
    assert ("expect_column_values_to_match_regex", "uketsuke_bango") in failed
    assert ("expect_column_values_to_be_in_set", "channel") not in failed  # nulls are not violations
