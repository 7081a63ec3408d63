"""The API on the built small city: each test gets its own store (clients, consents, access log)."""

from __future__ import annotations

import pytest

from core import lake
from core.releases import latest_release
from tests.support.api import running_api


@pytest.fixture(scope="session")
def published_city(built_city):
    """The built city with its open data published (and released), as ``onesource publish`` does."""
    from tests.support.lakes import platform_at

    with platform_at(built_city):
        from cli.runs import publish

        publish(out=None)
    return built_city


@pytest.fixture
def api(published_city, tmp_path, monkeypatch):
    monkeypatch.setenv("ONESOURCE_HOME", str(published_city / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")  # the test cities' lakes keep the SQLite catalog
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(tmp_path / "api.sqlite"))
    monkeypatch.delenv("ONESOURCE_API_STORE_DSN", raising=False)
    with running_api() as a:
        yield a


@pytest.fixture(scope="session")
def people(published_city):
    """Ids from the served release: a resident parent with children and tax records, another resident."""
    from tests.support.lakes import platform_at

    with platform_at(published_city):
        con = lake.connect(read_only=True)
        try:
            snap = latest_release(con).snapshot_id
            parent = con.execute(
                f"select p.person_id from lake.marts.dim_person as p at (version => {snap}) "
                f"join lake.marts.mart_resident_tax_by_person as t at (version => {snap}) using (person_id) "
                "where p.status = 'resident' and p.birth_date is not null and exists ("
                f"select 1 from lake.marts.dim_person as c at (version => {snap}) where c.household_id = p.household_id "
                "and c.person_id <> p.person_id and c.birth_date > current_date - interval 15 year) "
                "order by p.person_id limit 1").fetchone()[0]
            others = [r[0] for r in con.execute(
                f"select person_id from lake.marts.dim_person at (version => {snap}) where status = 'resident' "
                "and person_id <> ? order by person_id limit 3", [parent]).fetchall()]
            houjin = con.execute(
                f"select b.houjin_bango from lake.marts.dim_business as b at (version => {snap}) "
                f"join lake.marts.mart_contracts_by_business as c at (version => {snap}) using (business_id) "
                "where b.houjin_bango is not null order by c.contracts desc, b.houjin_bango limit 1").fetchone()[0]
        finally:
            con.close()
    return {"parent": parent, "others": others, "houjin": houjin, "snapshot": snap}
