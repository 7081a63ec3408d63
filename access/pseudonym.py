"""Keyed pseudonyms for the analysis zone (仮名加工情報, 個人情報保護法 第41条).

A person's or household's key in the analysis zone is HMAC-SHA256 under the zone's own secret
(``ONESOURCE_ANALYSIS_KEY``, else generated once in the keys folder), never a person_id or a hash of one:
without the secret nobody can recompute it from a person_id, nor join it to the department products'
keys. The secret stays with the platform (削除情報等の安全管理, 第41条第2項); analysts never hold it.
Registered on dbt's connection as ``os_pseudonym(kind, value)`` by ``access.dbt_pseudonyms``.
"""

from __future__ import annotations

import hashlib
import hmac

import duckdb

from core.keys import load_or_create_key
from core.settings import Settings, get_settings

KEY_FILE = "analysis_pseudonym.key"
PREFIX = {"person": "P", "household": "S"}  # S: 世帯


def zone_key(settings: Settings | None = None) -> bytes:
    settings = settings or get_settings()
    return load_or_create_key(settings, settings.analysis_key, "ONESOURCE_ANALYSIS_KEY", KEY_FILE)


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """``P`` or ``S`` and 20 hex digits (80 bits: no collision among a city's people)."""
    digest = hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX[kind] + digest[:20]


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer pads of ``key`` (RFC 2104): a key longer than the block is hashed first."""
    block = hashlib.sha256().block_size
    k0 = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in k0), bytes(b ^ 0x5C for b in k0)


def register(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """``os_pseudonym(kind, value)`` on ``con``: :func:`pseudonym` computed by DuckDB itself (HMAC-SHA256 from its
    ``sha256``, vectorized: a Python function called per row cost 4 s a day at 500,000 residents). The pads
    are variables of this connection only, never part of a statement's text, so neither dbt's logs nor its
    compiled SQL hold the secret."""
    inner, outer = _pads(key)
    con.execute("set variable os_pseudonym_inner = ?", [inner])
    con.execute("set variable os_pseudonym_outer = ?", [outer])
    prefixes = " ".join(f"when '{kind}' then '{p}'" for kind, p in PREFIX.items())
    con.execute(f"""
        create or replace temp macro os_pseudonym(kind, value) as
        (case kind {prefixes} end) || left(sha256(getvariable('os_pseudonym_outer') || unhex(sha256(
            getvariable('os_pseudonym_inner') || encode(kind || chr(31) || value)))), 20)""")
