"""Who may see what: the purpose check, the consent check, and the fields a purpose releases.

Every decision about a named person or business, allowed or refused, is written to the access log
before the answer leaves, so the resident sees attempts as well as disclosures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request

from api.catalog import Procedure, Purpose
from api.clients import Client
from api.consent import live_consent
from api.deps import ApiError, Context
from api.served import Served
from core.towns import CITY, LG_CODE, PREFECTURE

PERSON_COLUMNS = ("name", "name_kana", "birth_date", "sex", "status", "household_id", "relation_to_head")
SELF = "resident:self"


def full_address(person: dict[str, Any]) -> dict[str, Any] | None:
    """A person's current address, whole: 郵便番号 (where the registry holds one), 都道府県 and 市区町村 (the marts
    hold the part after 千葉県市川市), the rest as registered and the 方書, and the one line a form or a bank
    compares (``text``). None when the city holds no current address (moved out, deceased)."""
    street = person.get("address")
    if not street:
        return None
    postal = person.get("postal_code")
    building = person.get("katagaki")
    return {"postal_code": f"{postal[:3]}-{postal[3:]}" if postal else None, "prefecture": PREFECTURE, "city": CITY,
            "lg_code": LG_CODE, "town": person.get("town"), "street": street, "building": building,
            "text": f"{PREFECTURE}{CITY}{street}" + (f" {building}" if building else "")}


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def person_fields(served: Served, person_id: str, fields: list[str]) -> dict[str, Any]:
    """The values of ``fields`` for one person, from the served release only."""
    base = served.persons.first(person_id)
    if base is None:
        return {}
    out: dict[str, Any] = {}
    members = None
    for f in fields:
        if f in PERSON_COLUMNS:
            out[f] = base[f]
        elif f == "address":
            out[f] = full_address(base)
        elif f in ("household_members", "children_in_household"):
            if members is None:
                members = sorted(served.households.all(base["household_id"]) if base["household_id"] else [],
                                 key=lambda m: m["person_id"])
            if f == "household_members":
                out[f] = members
            else:
                out[f] = [m for m in members if (a := _age(m["birth_date"], served.as_of)) is not None and a < 18]
        elif f == "resident_tax":
            out[f] = sorted(served.tax.all(person_id), key=lambda r: -r["fiscal_year"])
        elif f == "kokuho":
            out[f] = served.kokuho.all(person_id)
    return out


def business_fields(served: Served, business_id: str, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f == "contracts":
            out[f] = served.contracts.first(business_id)
        elif f == "subsidies":
            out[f] = served.subsidies.all(business_id)
    return out


async def authorize(ctx: Context, request: Request, client: Client, purpose_id: str, subject_kind: str,
                    subject_id: str, served: Served) -> tuple[Purpose, str | None]:
    """The purpose and the consent id (None for a legal basis) if ``client`` may use it on the subject.

    Refusals raise :class:`ApiError` after they are logged. A consent-based purpose is checked for
    consent before the subject's existence, so a client without consent learns nothing about it.
    """
    purpose = ctx.catalog.purpose(purpose_id)
    if purpose is None:
        raise ApiError(400, "unknown_purpose", "no such purpose in the catalog; its purposes are "
                       f"{', '.join(p.id for p in ctx.catalog.purposes)} (see /v1/purposes)")
    if purpose.subject != subject_kind:
        raise ApiError(400, "wrong_subject", f"purpose {purpose.id} concerns a {purpose.subject}, not a {subject_kind}")

    async def refuse(code: str, message: str, outcome: str) -> ApiError:
        await ctx.log(request, client_id=client.client_id, actor=client.kind, subject_kind=subject_kind,
                      subject_id=subject_id, purpose_id=purpose.id, legal_basis=purpose.legal_basis.kind,
                      consent_id=None, fields=[], snapshot_id=served.snapshot_id, outcome=outcome)
        return ApiError(403, code, message)

    if purpose.id not in client.purposes or client.kind not in purpose.recipients:
        raise await refuse("purpose_not_permitted", f"this client is not registered for purpose {purpose.id} "
                           f"(its purposes: {', '.join(sorted(client.purposes)) or 'none'})",
                           "denied:purpose_not_permitted")
    consent_id = None
    if purpose.legal_basis.kind == "consent":
        consent_id = live_consent(ctx.store, subject_id, purpose.id, client.client_id)
        if consent_id is None:
            raise await refuse("no_consent", f"the person has not given this client live consent for {purpose.id}",
                               "denied:no_consent")
    return purpose, consent_id


def prefill(served: Served, procedure: Procedure, purpose: Purpose, person_id: str) -> tuple[dict, list[str]]:
    """The form with what the city holds filled in, and which attachments need not be submitted."""
    values = person_fields(served, person_id, purpose.fields)
    base = served.persons.first(person_id) or {}
    form = []
    used: set[str] = set()
    for item in procedure.form:
        value = values.get(item.field) if item.field else None
        held = item.field is not None and value not in (None, [], "")
        if held:
            used.add(item.field)
        form.append({"label": item.label, "field": item.field, "held": held, "value": value if held else None})
    tax_years = {r["fiscal_year"] for r in served.tax.all(person_id)}
    attachments = []
    for att in procedure.attachments:
        # an attachment is looked up only where the purpose releases what it rests on: "not needed" and
        # "needed" both tell whether the city holds it, so either answer counts as that field used
        if att.held_when == "resident" and "status" in purpose.fields:
            used.add("status")
            held = base.get("status") == "resident"
            reason = "市が住民基本台帳で保有しているため提出不要 (held in the resident registry)"
        elif att.held_when == "tax_assessed" and "resident_tax" in purpose.fields:
            used.add("resident_tax")
            held = served.tax_year is not None and served.tax_year in tax_years
            reason = (f"市が{served.tax_year}年度の課税情報を保有しているため提出不要 "
                      f"(the city holds the {served.tax_year} assessment)")
        elif att.held_when in ("resident", "tax_assessed"):
            attachments.append({"name": att.name, "required": True,
                                "reason": "この手続の利用目的では市の保有情報を確認しないため提出が必要 "
                                          "(not looked up under this procedure's purpose)"})
            continue
        else:
            held, reason = False, ""
        attachments.append({"name": att.name, "required": not held, "reason": reason if held else
                            "市が保有していないため提出が必要 (the city does not hold it)"})
    body = {"procedure": {"id": procedure.id, "name": procedure.name.model_dump()}, "person_id": person_id,
            "form": form, "attachments": attachments,
            "fields_prefilled": sum(1 for f in form if f["held"]),
            "attachments_not_needed": sum(1 for a in attachments if not a["required"])}
    return body, sorted(used)
