"""The consent registry: a resident grants, revokes or lets expire consent per purpose and recipient.

Each grant yields a consent receipt with the fields of the Kantara Initiative Consent Receipt
Specification v1.1. A consent is read from the store on every request that relies on it, so a
revocation holds from the very next request, whichever API process serves it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

from api.catalog import load_catalog
from api.store import Store, iso_utc, now_utc
from core.towns import CITY, LG_CODE, PREFECTURE

CONTROLLER = {
    "piiController": f"{CITY}（{PREFECTURE}）",
    "onBehalf": False,
    "contact": f"{CITY} 個人情報保護窓口",
    "address": {"streetAddress": "八幡一丁目1番1号", "addressLocality": CITY, "addressRegion": PREFECTURE,
                "postalCode": "272-8501", "addressCountry": "JP"},
    "email": "kojinjoho@city.ichikawa.example",
    "phone": "047-334-1111",
    "piiControllerUrl": "https://www.city.ichikawa.example",
}


class ConsentError(ValueError):
    """A consent that cannot be granted as asked (unknown purpose or recipient, not consent-based)."""


def receipt(consent_id: str, person_id: str, purpose_id: str, client: dict, granted_at: dt.datetime,
            expires_at: dt.datetime | None, method: str, base_url: str) -> dict:
    """A Kantara consent receipt (v1.1.0) for one grant."""
    catalog = load_catalog()
    purpose = catalog.purpose(purpose_id)
    assert purpose is not None
    fields = catalog.person_fields
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": "JP",
        "consentTimestamp": int(granted_at.timestamp()),
        "collectionMethod": method,
        "consentReceiptID": consent_id,
        "publicKey": None,
        "language": "ja",
        "piiPrincipalId": person_id,
        "piiControllers": [CONTROLLER],
        "policyUrl": f"{base_url}/v1/purposes/{purpose_id}",
        "services": [{
            "service": f"{CITY} OneSource 同意に基づく情報提供 (全国地方公共団体コード {LG_CODE})",
            "purposes": [{
                "purpose": purpose.name.ja,
                "purposeCategory": [purpose.id],
                "consentType": "EXPLICIT",
                "piiCategory": [fields[f].ja for f in purpose.fields if f in fields],
                "primaryPurpose": False,
                "termination": (f"{iso_utc(expires_at)} に失効、または本人がいつでも撤回できる" if expires_at
                                else "本人がいつでも撤回できる"),
                "thirdPartyDisclosure": client["kind"] == "private",
                "thirdPartyName": client["organisation"],
            }],
        }],
        "sensitive": False,
        "spiCat": [],
        "retention": purpose.retention,
        "recipientClientId": client["client_id"],
    }


def grant(store: Store, person_id: str, purpose_id: str, client_id: str, expires_at: dt.datetime | None,
          method: str, base_url: str) -> dict:
    catalog = load_catalog()
    purpose = catalog.purpose(purpose_id)
    by_consent = ", ".join(p.id for p in catalog.purposes if p.legal_basis.kind == "consent")
    if purpose is None:
        raise ConsentError(f"unknown purpose; the purposes that rest on consent are {by_consent} (see /v1/purposes)")
    if purpose.legal_basis.kind != "consent":
        raise ConsentError(f"this purpose rests on law ({purpose.legal_basis.reference}), not on consent: a client "
                           f"registered for it needs none (the purposes that rest on consent are {by_consent})")
    row = store.one("select client_id, name, kind, organisation from clients where client_id = ? and "
                    "revoked_at is null", (client_id,))
    if row is None:
        raise ConsentError("unknown or revoked recipient: the recipient is the client_id that `onesource clients add` "
                           "printed for the client")
    client = dict(zip(("client_id", "name", "kind", "organisation"), row))
    bound = store.one("select 1 from client_purposes where client_id = ? and purpose_id = ?", (client_id, purpose_id))
    if bound is None:
        raise ConsentError("the recipient is not registered for this purpose")
    now = dt.datetime.now(dt.UTC)
    if expires_at is not None:
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=dt.UTC)
        if expires_at <= now:
            raise ConsentError("expires_at lies in the past")
    with store.transaction():
        # one consent per (resident, purpose, recipient) that is not revoked: a second grant renews it (new
        # expiry, new receipt, same id), so revoking it always ends the access
        existing = store.one("select consent_id from consents where person_id = ? and purpose_id = ? and "
                             "client_id = ? and revoked_at is null", (person_id, purpose_id, client_id))
        consent_id = existing[0] if existing else str(uuid.uuid4())
        rec = receipt(consent_id, person_id, purpose_id, client, now, expires_at, method, base_url)
        expiry = iso_utc(expires_at) if expires_at else None
        if existing:
            store.execute("update consents set expires_at = ?, collection_method = ?, receipt = ? "
                          "where consent_id = ?", (expiry, method, json.dumps(rec, ensure_ascii=False), consent_id))
        else:
            store.execute("insert into consents (consent_id, person_id, purpose_id, client_id, granted_at, "
                          "expires_at, collection_method, receipt) values (?, ?, ?, ?, ?, ?, ?, ?)",
                          (consent_id, person_id, purpose_id, client_id, iso_utc(now), expiry, method,
                           json.dumps(rec, ensure_ascii=False)))
    return rec


def revoke(store: Store, person_id: str, consent_id: str) -> bool:
    """Revoke one of the person's own consents; False when it is not theirs or not live."""
    with store.transaction():
        row = store.one("select revoked_at from consents where consent_id = ? and person_id = ?",
                        (consent_id, person_id))
        if row is None or row[0] is not None:
            return False
        store.execute("update consents set revoked_at = ? where consent_id = ?", (now_utc(), consent_id))
    return True


def live_consent(store: Store, person_id: str, purpose_id: str, client_id: str) -> str | None:
    """The id of a consent in force now, or None."""
    row = store.one("select consent_id from consents where person_id = ? and purpose_id = ? and client_id = ? "
                    "and revoked_at is null and (expires_at is null or expires_at > ?) "
                    "order by granted_at desc limit 1", (person_id, purpose_id, client_id, now_utc()))
    return row[0] if row else None


def consents_of(store: Store, person_id: str) -> list[dict]:
    now = now_utc()
    rows = store.execute("select consent_id, purpose_id, client_id, granted_at, expires_at, revoked_at, "
                         "collection_method from consents where person_id = ? order by granted_at", (person_id,))
    out = []
    for cid, pid, client, granted, expires, revoked, method in rows:
        state = "revoked" if revoked else ("expired" if expires and expires <= now else "active")
        out.append({"consent_id": cid, "purpose_id": pid, "recipient": client, "granted_at": granted,
                    "expires_at": expires, "revoked_at": revoked, "collection_method": method, "state": state})
    return out


def receipt_of(store: Store, person_id: str, consent_id: str) -> dict | None:
    row = store.one("select receipt from consents where consent_id = ? and person_id = ?", (consent_id, person_id))
    return json.loads(row[0]) if row else None

