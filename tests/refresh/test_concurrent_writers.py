"""Scale beyond one writer: on a PostgreSQL catalog, ingestion and dbt run from separate processes at once."""

from __future__ import annotations

import subprocess

import pytest

from core import lake
from core.releases import mart_checksums
from tests.support.commands import popen_cli, run_cli
from tests.support.lakes import build_lake, first_days, platform_at

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _start(args: list[str], log) -> subprocess.Popen:
    return popen_cli(*args, stdout=log, stderr=subprocess.STDOUT)


def test_ingestion_and_dbt_at_once_on_a_postgres_catalog(city, pg_database, tmp_path, monkeypatch):
    early = tmp_path / "landing_day2"
    first_days(city.landing, early, 2)
    with platform_at(tmp_path):
        monkeypatch.setenv("ONESOURCE_CATALOG_DSN", pg_database)
        build_lake(early)
        con = lake.connect(read_only=True)
        before = con.execute("select count(*) from lake.ops.load_ledger").fetchone()[0]
        con.close()
        logs = {name: (tmp_path / f"{name}.log").open("w+") for name in ("ingest", "dbt", "link")}
        # the rest of the deliveries load while dbt rebuilds staging and the marts from what is there
        procs = {"ingest": _start(["ingest", "--landing", str(city.landing), "--no-expectations"], logs["ingest"]),
                 "dbt": _start(["dbt", "build", "--select", "staging", "intermediate", "marts"], logs["dbt"])}
        codes = {name: p.wait(timeout=900) for name, p in procs.items()}
        for name, fh in logs.items():
            fh.seek(0)
            text = fh.read()
            if name in codes:
                assert codes[name] == 0, f"{name} failed:\n{text[-3000:]}"
                assert "Traceback" not in text and "Conflict" not in text, text[-3000:]
        con = lake.connect(read_only=True)
        after = con.execute("select count(*) from lake.ops.load_ledger").fetchone()[0]
        con.close()
        assert after > before, "the concurrent ingestion loaded the later deliveries"
        # and the platform carries on: a refresh on top gives the marts of the same steps run one at a time
        link = run_cli("link")
        assert link.returncode == 0, link.stdout[-3000:] + link.stderr[-3000:]
        con = lake.connect(read_only=True)
        concurrent = mart_checksums(con)
        con.close()
    with platform_at(tmp_path / "sequential"):
        build_lake(early)
        build_lake(city.landing)
        con = lake.connect(read_only=True)
        sequential = mart_checksums(con)
        con.close()
    differing = {k for k in sequential if sequential[k] != concurrent.get(k)}
    assert not differing, differing
