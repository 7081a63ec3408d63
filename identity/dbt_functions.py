"""dbt-duckdb plugin: registers the ``os_*`` normalization functions on dbt's connection."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from identity.udfs import register


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        register(conn)
