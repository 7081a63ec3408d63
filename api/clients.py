"""API clients and resident credentials. Secrets are shown once and stored only as SHA-256 hashes.

A client key is ``osk_<client_id>_<secret>``; a resident credential (what the resident portal holds
after the person signed in with their マイナンバーカード) is ``osr_<credential_id>_<secret>``. The secrets
are 256 random bits, so a plain SHA-256 is the right hash (a slow password hash buys nothing here and
would cost every request); the id part finds the row without scanning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, field

from api.catalog import load_catalog
from api.store import Store, iso_utc, now_utc

_TOKEN = re.compile(r"^(osk|osr)_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")


class RegistrationError(ValueError):
    """A client or credential that cannot be registered as asked."""


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    kind: str
    organisation: str
    rate_per_second: float
    burst: int
    purposes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Resident:
    credential_id: str
    person_id: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(prefix: str) -> tuple[str, str, str]:
    ident = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    return ident, secret, f"{prefix}_{ident}_{secret}"


def register_client(store: Store, name: str, kind: str, organisation: str, purposes: list[str],
                    rate_per_second: float, burst: int) -> tuple[Client, str]:
    """Register a client bound to ``purposes``; returns it and its key (shown once, never stored)."""
    catalog = load_catalog()
    if not purposes:
        raise RegistrationError("a client needs at least one purpose (--purpose): a client bound to none could "
                                "only be refused")
    if not (rate_per_second > 0 and math.isfinite(rate_per_second)):
        raise RegistrationError("the rate must be a number of requests per second above 0")
    if not burst >= 1:
        raise RegistrationError("the burst must be at least 1 request")
    if kind not in ("department", "private"):
        raise RegistrationError(f"kind must be department or private, not {kind!r}")
    for pid in purposes:
        purpose = catalog.purpose(pid)
        if purpose is None:
            raise RegistrationError(f"unknown purpose {pid!r}; the catalog's purposes are "
                                    f"{', '.join(p.id for p in catalog.purposes)} (see `onesource clients add --help` "
                                    "or GET /v1/purposes)")
        if kind not in purpose.recipients:
            raise RegistrationError(f"purpose {pid} may not be used by a {kind} client "
                                    f"(recipients: {', '.join(purpose.recipients)})")
    client_id, secret, key = _new_secret("osk")
    with store.transaction():
        store.execute("insert into clients (client_id, name, kind, organisation, key_hash, rate_per_second, burst, "
                      "created_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                      (client_id, name, kind, organisation, _hash(secret), rate_per_second, burst, now_utc()))
        for pid in sorted(set(purposes)):
            store.execute("insert into client_purposes (client_id, purpose_id) values (?, ?)", (client_id, pid))
    return Client(client_id, name, kind, organisation, rate_per_second, burst, frozenset(purposes)), key


def revoke_client(store: Store, client_id: str) -> bool:
    with store.transaction():
        found = store.one("select revoked_at from clients where client_id = ?", (client_id,))
        if found is None:
            return False
        store.execute("update clients set revoked_at = ? where client_id = ? and revoked_at is null",
                      (now_utc(), client_id))
    return True


def list_clients(store: Store) -> list[dict]:
    rows = store.execute("select c.client_id, c.name, c.kind, c.organisation, c.created_at, c.revoked_at, "
                         "p.purpose_id from clients c left join client_purposes p using (client_id) "
                         "order by c.created_at, c.client_id, p.purpose_id")
    out: dict[str, dict] = {}
    for cid, name, kind, org, created, revoked, pid in rows:
        c = out.setdefault(cid, {"client_id": cid, "name": name, "kind": kind, "organisation": org,
                                 "created_at": created, "revoked_at": revoked, "purposes": []})
        if pid:
            c["purposes"].append(pid)
    return list(out.values())


def authenticate_client(store: Store, key: str) -> Client | None:
    """The live client holding ``key``, or None (unknown, wrong secret or revoked)."""
    m = _TOKEN.match(key)
    if not m or m.group(1) != "osk":
        return None
    row = store.one("select client_id, name, kind, organisation, rate_per_second, burst, key_hash from clients "
                    "where client_id = ? and revoked_at is null", (m.group(2),))
    if row is None or not hmac.compare_digest(row[6], _hash(m.group(3))):
        return None
    purposes = frozenset(r[0] for r in store.execute("select purpose_id from client_purposes where client_id = ?",
                                                     (row[0],)))
    return Client(row[0], row[1], row[2], row[3], float(row[4]), int(row[5]), purposes)


ENTITLED = {"resident": "住民", "moved_out": "転出者（保有情報の開示・利用記録の確認）",
            "not_registered": "住登外者（課税等で市が情報を保有）"}


def issue_resident_credential(store: Store, person_id: str, status: str | None, valid_for: dt.timedelta,
                              max_lifetime: dt.timedelta) -> tuple[Resident, str]:
    """A credential for one person (what the portal holds after the person signed in), only for a person the
    served release knows (``status`` from it, None when unknown) who is entitled to one: a resident, or a
    person the city still holds data about (moved out, 住登外). Its lifetime is bounded."""
    if status is None:
        raise RegistrationError("no such person in the served release")
    if status not in ENTITLED:
        raise RegistrationError(f"a person whose status is {status} gets no resident credential")
    if not dt.timedelta(0) < valid_for <= max_lifetime:
        raise RegistrationError(f"a credential is valid for more than 0 and at most {max_lifetime}")
    cred_id, secret, token = _new_secret("osr")
    expires = iso_utc(dt.datetime.now(dt.UTC) + valid_for)
    with store.transaction():
        store.execute("insert into resident_credentials (credential_id, person_id, token_hash, created_at, "
                      "expires_at) values (?, ?, ?, ?, ?)", (cred_id, person_id, _hash(secret), now_utc(), expires))
    return Resident(cred_id, person_id), token


def revoke_resident_credentials(store: Store, person_id: str | None = None, credential_id: str | None = None) -> int:
    """Revoke one credential, or every live credential of a person; returns how many."""
    where, params = (("credential_id = ?", (credential_id,)) if credential_id else ("person_id = ?", (person_id,)))
    with store.transaction():
        n = store.one(f"select count(*) from resident_credentials where {where} and revoked_at is null", params)[0]
        store.execute(f"update resident_credentials set revoked_at = ? where {where} and revoked_at is null",
                      (now_utc(), *params))
    return int(n)


def authenticate_resident(store: Store, token: str) -> Resident | None:
    m = _TOKEN.match(token)
    if not m or m.group(1) != "osr":
        return None
    row = store.one("select credential_id, person_id, token_hash from resident_credentials where credential_id = ? "
                    "and revoked_at is null and expires_at > ?", (m.group(2), now_utc()))
    if row is None or not hmac.compare_digest(row[2], _hash(m.group(3))):
        return None
    return Resident(row[0], row[1])
