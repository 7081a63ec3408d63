"""Both apps, the API and the workbench, as they are built, on an empty platform home: the web layer answers
before any lake or release is needed. Each test that takes ``app`` runs once per app."""

from __future__ import annotations

import pytest

from core.settings import Settings, get_settings
from tests.support.web import started


@pytest.fixture
def settings(home, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(tmp_path / "api.sqlite"))
    monkeypatch.delenv("ONESOURCE_API_STORE_DSN", raising=False)
    return get_settings()


@pytest.fixture(params=["api", "workbench"])
def app(request, settings):
    with started(request.param, settings) as a:
        yield a
