"""Keyed pseudonyms for the analysis zone (仮名加工情報, 個人情報保護法 第41条).

A person's or household's key in the analysis zone is HMAC-SHA256 under the zone's own secret
(``ONESOURCE_ANALYSIS_KEY``, else generated once in the keys folder), never a person_id or a hash of one:
without the secret nobody can recompute it from a person_id, nor join it to the department products'
keys. The secret stays with the platform (削除情報等の安全管理, 第41条第2項); analysts never hold it.
Registered on dbt's connection as ``os_pseudonym(kind, value)`` by ``onesource.access.dbt_plugin``.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pyarrow as pa

from onesource.core.keys import load_or_create_key
from onesource.core.settings import Settings, get_settings

KEY_FILE = "analysis_pseudonym.key"
PREFIX = {"person": "P", "household": "S"}  # S: 世帯


def zone_key(settings: Settings | None = None) -> bytes:
    settings = settings or get_settings()
    return load_or_create_key(settings, settings.analysis_key, "ONESOURCE_ANALYSIS_KEY", KEY_FILE)


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """``P`` or ``S`` and 20 hex digits (80 bits: no collision among a city's people)."""
    digest = hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX[kind] + digest[:20]


def register(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    def fn(kinds: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.Array:
        out = [None if v is None or k is None else pseudonym(key, k, v)
               for k, v in zip(kinds.to_pylist(), values.to_pylist())]
        return pa.array(out, type=pa.string())

    try:
        con.remove_function("os_pseudonym")
    except Exception:  # noqa: BLE001 - not registered yet
        pass
    con.create_function("os_pseudonym", fn, ["VARCHAR", "VARCHAR"], "VARCHAR", type="arrow",
                        null_handling="special", side_effects=False)
