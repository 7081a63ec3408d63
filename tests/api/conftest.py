"""The API on the built small city: each test gets its own store (clients, consents, access log)."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.clients import issue_resident_credential, register_client
from api.main import create_app
from api.store import Store
from core import lake
from core.releases import latest_release
from core.settings import get_settings


@pytest.fixture(scope="session")
def published_city(built_city):
    """The built city with its open data published (and released), as ``onesource publish`` does."""
    from tests.conftest import platform_at

    with platform_at(built_city):
        from cli.runs import publish

        publish(out=None)
    return built_city


@dataclass
class Api:
    http: TestClient
    store: Store

    def client(self, kind: str = "department", purposes: tuple[str, ...] = ("jidou_teate",), rate: float = 1000.0,
               burst: int = 1000, organisation: str = "テスト課") -> tuple[str, dict[str, str]]:
        client, key = register_client(self.store, f"test {kind}", kind, organisation, list(purposes), rate, burst)
        return client.client_id, {"X-API-Key": key}

    served: object = None

    def resident(self, person_id: str, hours: float = 1.0) -> dict[str, str]:
        status = self.served().status_of(person_id)
        _, token = issue_resident_credential(self.store, person_id, status, dt.timedelta(hours=hours),
                                             dt.timedelta(hours=24))
        return {"Authorization": f"Bearer {token}"}

    def log_rows(self, subject_id: str | None = None) -> list[tuple]:
        sql = "select seq, client_id, subject_id, purpose_id, consent_id, fields, outcome from access_log"
        if subject_id:
            return self.store.execute(sql + " where subject_id = ? order by seq", (subject_id,))
        return self.store.execute(sql + " order by seq")


@contextlib.contextmanager
def running_api():
    app = create_app(get_settings(), watch=False)
    with TestClient(app) as http:
        yield Api(http, app.state.ctx.store, lambda: app.state.ctx.watcher.current)


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
    from tests.conftest import platform_at

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
