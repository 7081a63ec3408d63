"""dbt-duckdb plugin: prepares dbt's session as the platform's own (OpenSSL for the encrypted mode, the object
store's secret for an s3:// data path; core.lake.prepare_session)."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from core.lake import prepare_session
from core.settings import get_settings


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        prepare_session(conn, get_settings())
