"""Time travel: an answer the API gave on day 3 is reproduced exactly after later refreshes."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from cli import app
from core import lake
from core.releases import latest_release, mart_checksums
from tests.support.api import running_api
from tests.support.lakes import build_lake, first_days, platform_at

pytestmark = pytest.mark.slow


def test_day_three_answer_is_reproduced_after_the_last_refresh(city, tmp_path, monkeypatch):
    early = tmp_path / "landing_day3"
    first_days(city.landing, early, 3)
    runner = CliRunner()
    with platform_at(tmp_path):
        monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(tmp_path / "api.sqlite"))
        build_lake(early)
        con = lake.connect(read_only=True)
        day3 = latest_release(con)
        sums3 = mart_checksums(con)
        pid = con.execute("select person_id from lake.marts.dim_person where status = 'resident' "
                          "order by person_id limit 1 offset 17").fetchone()[0]
        con.close()
        with running_api() as api:
            _, headers = api.client(purposes=("kokuho_shikaku",))
            answer = api.http.get(f"/v1/persons/{pid}", params={"purpose": "kokuho_shikaku"}, headers=headers).json()
        asked_at = api.store.one("select at from access_log where seq = ?", (answer["access_log_seq"],))
        assert answer["snapshot_id"] == day3.snapshot_id

        build_lake(city.landing)  # every later delivery, then a new release
        con = lake.connect(read_only=True)
        last = latest_release(con)
        assert last.release_id > day3.release_id
        assert mart_checksums(con) != sums3, "the later days changed the marts"
        con.close()
        # every mart, row for row, as of day 3's release
        past = lake.connect(snapshot_id=day3.snapshot_id)
        assert mart_checksums(past) == sums3
        past.close()
        # the documented command, asked for the time of the answer, gives the answer's values
        sql = (f"select name, birth_date, sex, address, status from lake.marts.dim_person where person_id = '{pid}'")
        out = runner.invoke(app, ["query", sql, "--at", asked_at[0].replace("Z", "+00:00"), "--csv"])
        assert out.exit_code == 0, out.output
        row = next(csv.DictReader(io.StringIO(out.stdout)))
        data = {**answer["data"], "address": (answer["data"]["address"] or {}).get("street")}  # the mart's part
        assert row == {k: ("" if data[k] is None else str(data[k])) for k in row}
        now = runner.invoke(app, ["checksum"])
        then = runner.invoke(app, ["checksum", "--release", str(day3.release_id)])
        assert now.exit_code == then.exit_code == 0 and now.stdout != then.stdout
        assert "dim_person" in then.stdout

        # the retention policy: the snapshots between releases go, with the files only they used; every
        # release stays readable, row for row
        con = lake.connect(read_only=True)
        current = mart_checksums(con)
        releases = {r[0] for r in con.execute("select snapshot_id from lake.ops.releases").fetchall()}
        n_before = con.execute("select count(*) from lake.snapshots()").fetchone()[0]
        con.close()
        parquet = sorted((tmp_path / "home").rglob("*.parquet"))
        size_before = sum(p.stat().st_size for p in parquet)
        out = runner.invoke(app, ["maintain", "--keep-days", "0"])
        assert out.exit_code == 0, out.output
        assert "every release kept" in out.stdout
        con = lake.connect(read_only=True)
        kept = {r[0] for r in con.execute("select snapshot_id from lake.snapshots()").fetchall()}
        assert releases <= kept and len(kept) < n_before / 2, (len(kept), n_before)
        assert mart_checksums(con) == current
        con.close()
        past = lake.connect(snapshot_id=day3.snapshot_id)
        assert mart_checksums(past) == sums3
        past.close()
        assert sum(p.stat().st_size for p in (tmp_path / "home").rglob("*.parquet")) < size_before
        out = runner.invoke(app, ["query", sql, "--at", asked_at[0].replace("Z", "+00:00"), "--csv"])
        assert next(csv.DictReader(io.StringIO(out.stdout))) == row
