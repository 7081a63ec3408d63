"""個人番号 never reaches the lake, quarantine, logs or messages: a scan of everything the platform wrote."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import duckdb
import pytest

from core import lake
from core.ids import make_my_number
from core.masking import mask_my_numbers
from core.settings import get_settings
from ingestion.pipeline import ingest
from ingestion.tokens import Tokenizer, load_key
from tests.fixtures import handmade
from tests.support.commands import run_cli
from tests.support.my_numbers import input_my_numbers, twelve_digit_runs
from tests.support.paths import REPO


def lake_numbers(home: Path) -> set[str]:
    """12-digit runs in every table of the lake, every Parquet file under home and every other file's bytes."""
    found: set[str] = set()
    con = lake.connect()
    for schema, table in con.execute("select schema_name, table_name from duckdb_tables() "
                                     "where database_name = 'lake'").fetchall():
        for row in con.execute(f"select * from lake.{schema}.{table}").fetchall():
            found |= twelve_digit_runs(" ".join(map(str, row)))
    con.close()
    raw = duckdb.connect()
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            for row in raw.execute("select * from read_parquet(?)", [str(path)]).fetchall():
                found |= twelve_digit_runs(" ".join(map(str, row)))
        else:
            found |= twelve_digit_runs(path.read_bytes().decode("utf-8", errors="ignore"))
    return found


def test_no_my_number_from_input_anywhere_in_the_lake_or_logs(home, city, tmp_path, caplog):
    zone_landing = tmp_path / "zone" / "landing"
    handmade.build(tmp_path / "zone")
    inputs = input_my_numbers(city.landing) | input_my_numbers(zone_landing)
    assert len(inputs) > 1000  # the scan has something to find
    caplog.set_level(logging.DEBUG)
    ingest(city.landing)
    env = {**os.environ, "ONESOURCE_HOME": str(home)}
    cli = run_cli("-v", "ingest", "--landing", str(zone_landing), env=env, timeout=600)
    assert cli.returncode == 1  # the hand-made zone's deliberately broken delivery
    leaked = lake_numbers(home) & inputs
    assert not leaked, f"{len(leaked)} 個人番号 from the input found in the lake"
    assert not twelve_digit_runs(caplog.text + cli.stdout + cli.stderr) & inputs
    # and the tokens are there instead: one per valid number in juki
    con = lake.connect()
    tokens = con.execute("select count(distinct kojin_bango_token) from lake.bronze.juki__jumin").fetchone()[0]
    assert tokens > 1000
    # positive control: the same scan does find a number that did reach the lake
    canary = sorted(inputs)[0]
    con.execute("create table lake.restricted.canary as select ? as note", [f"leak {canary} here"])
    con.close()
    assert canary in lake_numbers(home)


def test_key_is_generated_once_with_owner_only_permissions(home, monkeypatch, tmp_path):
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    key = load_key()
    path = tmp_path / "keys" / "my_number.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_key() == key and len(key) == 32
    path.chmod(0o644)
    with pytest.raises(RuntimeError, match="readable by others"):
        load_key()


def test_default_keys_live_outside_the_repository(monkeypatch):
    monkeypatch.delenv("ONESOURCE_HOME", raising=False)
    monkeypatch.delenv("ONESOURCE_KEYS_DIR", raising=False)
    keys = get_settings().keys_dir.resolve()
    assert REPO not in keys.parents


def test_configured_key_and_domain_separation(monkeypatch):
    number = make_my_number(98765432109)
    monkeypatch.setenv("ONESOURCE_MY_NUMBER_KEY", "x" * 40)
    key = load_key()
    assert key == b"x" * 40
    identity = Tokenizer(key).token(number)
    assert identity == Tokenizer(key).token(number[:4] + "-" + number[4:])  # same number, same token
    assert identity != Tokenizer(b"y" * 40).token(number)  # another key, another token
    assert identity != Tokenizer(key, domain="marts.kosodate").token(number)  # another use, another token
    assert Tokenizer.derive(identity, "api", key) != Tokenizer.derive(identity, "marts", key)
    monkeypatch.setenv("ONESOURCE_MY_NUMBER_KEY", "short")
    with pytest.raises(RuntimeError, match="32 bytes"):
        load_key()


def test_masking_hides_twelve_digit_runs_only():
    assert mask_my_numbers('"00000018","123456789018","ｲﾁｶﾜ"') == '"00000018","************","ｲﾁｶﾜ"'
    assert mask_my_numbers("１２３４５６７８９０１８") == "************"
    assert mask_my_numbers("1234567890123") == "1234567890123"  # 13 digits: a 法人番号, not masked
