"""Incremental refresh: daily deltas refreshed incrementally (staging, linkage, marts) leave marts identical,
row for row, to rebuilding every model from scratch on the same deliveries and the same identity state."""

from __future__ import annotations

import pytest

from core import lake
from core.dbt import run_dbt
from core.releases import mart_checksums
from tests.support.lakes import first_days, platform_at

pytestmark = pytest.mark.slow


def test_incremental_refreshes_equal_a_full_rebuild(city, tmp_path):
    from core.settings import get_settings
    from refresh.sequence import SEQUENCE, run_refresh

    refreshes = 3
    with platform_at(tmp_path):
        for n in range(refreshes + 1):
            live = tmp_path / f"landing_{n}"
            first_days(city.landing, live, n)
            # the daily refresh as `onesource refresh` runs it: one process, incremental after the first day
            report = run_refresh(get_settings(), live, incremental=n > 0, run_expectations=False)
            assert [s for s, _t in report.stages] == [s.name for s in SEQUENCE]  # every stage, publish included
            assert [s for s, _t in report.stages] == ["ingest", "staging", "linkage", "marts", "products", "publish",
                                                      "release"]
        con = lake.connect(read_only=True)
        modes = [r[0] for r in con.execute("select mode from lake.identity.linkage_runs where entity = 'person' "
                                           "order by started_at").fetchall()]
        refreshed = mart_checksums(con)
        staged = mart_checksums(con, "staging") | mart_checksums(con, "identity")
        products = _products(con)
        con.close()
        assert modes == ["full"] + ["incremental"] * refreshes
        assert run_dbt(["build", "--full-refresh", "--select", "staging", "intermediate", "marts", "products",
                        "analysis"]).success
        con = lake.connect(read_only=True)
        rebuilt = mart_checksums(con)
        restaged = mart_checksums(con, "staging") | mart_checksums(con, "identity")
        reproduced = _products(con)
        con.close()
    assert len(refreshed) > 15
    assert {k: v for k, v in restaged.items() if v != staged.get(k)} == {}
    assert {k: v for k, v in rebuilt.items() if v != refreshed.get(k)} == {}
    # the departments' products and the analysis zone too (keyed and whole-table diffs alike)
    assert len(products) >= 12 and {k: v for k, v in reproduced.items() if v != products.get(k)} == {}


def _products(con) -> dict:
    schemas = [r[0] for r in con.execute("select distinct schema_name from duckdb_tables() where database_name = "
                                         "'lake' and (schema_name like 'product_%' or schema_name = 'analysis')").fetchall()]
    return {f"{s}.{t}": v for s in schemas for t, v in mart_checksums(con, s).items()}
