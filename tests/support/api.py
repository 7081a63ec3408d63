"""The consented-data API in-process (FastAPI's test client), with its store: clients to register, residents'
credentials to issue, the access log to read."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi.testclient import TestClient

from api.clients import issue_resident_credential, register_client
from api.main import create_app
from api.store import Store
from core.settings import get_settings


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
def running_api() -> Iterator[Api]:
    """The API on the lake of the current settings (not watching for releases), for a block of code."""
    app = create_app(get_settings(), watch=False)
    with TestClient(app) as http:
        yield Api(http, app.state.ctx.store, lambda: app.state.ctx.watcher.current)
