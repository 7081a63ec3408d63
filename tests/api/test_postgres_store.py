"""The same API on a PostgreSQL store (the production setting), against the local server."""

from __future__ import annotations

import pytest

from api.accesslog import load_log_key, verify
from tests.support.api import running_api

pytestmark = pytest.mark.postgres


def test_consent_flow_and_chain_on_postgres(published_city, people, pg_database, tmp_path, monkeypatch):
    monkeypatch.setenv("ONESOURCE_HOME", str(published_city / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")  # the test cities' lakes keep the SQLite catalog
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ONESOURCE_API_STORE_DSN", pg_database)
    with running_api() as api:
        assert api.store.is_postgres
        client_id, headers = api.client(kind="private", purposes=("honnin_kakunin_jusho",))
        pid = people["parent"]
        url, params = f"/v1/persons/{pid}", {"purpose": "honnin_kakunin_jusho"}
        assert api.http.get(url, params=params, headers=headers).status_code == 403
        me = api.resident(pid)
        consent = api.http.post("/v1/me/consents", json={"purpose_id": "honnin_kakunin_jusho",
                                                         "recipient": client_id}, headers=me).json()
        assert api.http.get(url, params=params, headers=headers).status_code == 200
        assert api.http.delete(f"/v1/me/consents/{consent['consentReceiptID']}", headers=me).status_code == 204
        assert api.http.get(url, params=params, headers=headers).status_code == 403
        assert [e["outcome"] for e in api.http.get("/v1/me/access-log", headers=me).json()] == [
            "denied:no_consent", "disclosed", "denied:no_consent"]
        result = verify(api.store, load_log_key())
        assert result.ok and result.entries == 3
        tables = {r[0] for r in api.store.execute(
            "select table_name from information_schema.tables where table_schema = 'public'")}
        assert {"clients", "consents", "access_log", "access_log_head"} <= tables
