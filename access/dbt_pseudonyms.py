"""dbt-duckdb plugin: registers ``os_pseudonym`` (the analysis zone's keyed pseudonyms) on dbt's connection."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from access.pseudonym import register, zone_key


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        self._key = zone_key()
        register(conn, self._key)

    def configure_cursor(self, cursor) -> None:  # the macro and its pads belong to one connection each
        register(cursor, self._key)
