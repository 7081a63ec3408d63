"""dbt staging models on a lake loaded from the simulated city: build, tests, normalized columns."""

from __future__ import annotations

import pytest

from core import lake
from core.dbt import run_dbt
from ingestion.pipeline import ingest

STAGING = ["stg_juki__residents", "stg_zei__assessments", "stg_kokuho__enrolments", "stg_kosodate__applications",
           "stg_houjin__corporations", "stg_keiyaku__vendors", "stg_keiyaku__bids", "stg_keiyaku__contracts",
           "stg_hojokin__applications", "stg_madoguchi__procedures"]


@pytest.fixture
def built(home, city):
    ingest(city.landing, run_expectations=False)
    result = run_dbt(["build", "--select", "staging"])
    assert result.success, [str(r.message) for r in result.result if r.status not in ("success", "pass")]
    return lake.connect()


def test_staging_builds_with_every_test_passing(built):
    tables = {r[0] for r in built.execute("select table_name from duckdb_tables() where database_name = 'lake' "
                                          "and schema_name = 'staging'").fetchall()}
    assert set(STAGING) <= tables
    for t in STAGING:
        assert built.execute(f"select count(*) from lake.staging.{t}").fetchone()[0] > 0, t


def test_one_row_per_source_record(built):
    bronze = built.execute("select count(distinct atena_bango) from lake.bronze.juki__jumin").fetchone()[0]
    staged = built.execute("select count(*) from lake.staging.stg_juki__residents").fetchone()[0]
    assert staged == bronze
    zei = built.execute("select count(distinct (nendo, atena_bango)) from lake.bronze.zei__kazei").fetchone()[0]
    assert built.execute("select count(*) from lake.staging.stg_zei__assessments").fetchone()[0] == zei


def test_normalized_columns_fold_the_noise(built):
    # every in-city registry address parses into town, 丁目, 番, 号
    unparsed = built.execute("select count(*) from lake.staging.stg_juki__residents where address_key is null")
    assert unparsed.fetchone()[0] == 0
    # kana keys are full-width katakana without spaces whatever the source wrote
    bad = built.execute("select count(*) from lake.staging.stg_kosodate__applications "
                        "where regexp_matches(parent_name_kana_key, '[ぁ-んｦ-ﾟ\\s　]')").fetchone()[0]
    assert bad == 0
    # no 異体字 of the spec's list survives in a matching key
    itaiji = built.execute("select count(*) from lake.staging.stg_juki__residents "
                           "where regexp_matches(name_key, '[髙﨑邊邉齋齊澤廣國濱]')").fetchone()[0]
    assert itaiji == 0
    assert built.execute("select count(*) from lake.staging.stg_juki__residents "
                         "where regexp_matches(name_display, '[髙﨑邊邉齋齊澤廣國濱]')").fetchone()[0] > 0
