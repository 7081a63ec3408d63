"""The resident's own view: who used my data and why, my consents, and my own prefill."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api import consent
from api.clients import revoke_resident_credentials
from api.deps import ApiError, Ctx, ResidentDep, ServedDep
from api.disclosure import SELF
from api.responses import Json
from api.routes.persons import ERRORS, _prefill_answer
from api.schemas import CATALOG_ID, AccessLogEntry, ConsentRequest

router = APIRouter(prefix="/v1/me", tags=["resident / 本人"])
ConsentId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                                description="同意ID")]


@router.get("/access-log", response_model=list[AccessLogEntry], responses=ERRORS,
            summary="わたしの情報の利用記録 / Who used my data, when, which fields, for what purpose")
def access_log(ctx: Ctx, resident: ResidentDep,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
               before_seq: Annotated[int | None, Query(ge=1, le=2**62)] = None):
    """本人に関する提供・事前入力・拒否のすべて（新しい順）。/ Every disclosure, prefill and refusal about me, newest first."""
    sql = ("select a.seq, a.at, a.client_id, c.name, c.organisation, c.kind, a.purpose_id, a.legal_basis, "
           "a.consent_id, a.fields, a.outcome, a.snapshot_id, a.actor from access_log a left join clients c "
           "on c.client_id = a.client_id where a.subject_kind = 'person' and a.subject_id = ?")
    params: list = [resident.person_id]
    if before_seq is not None:
        sql += " and a.seq < ?"
        params.append(before_seq)
    rows = ctx.store.execute(sql + " order by a.seq desc limit ?", [*params, limit])
    out = []
    for seq, at, cid, name, org, kind, pid, basis, consent_id, fields, outcome, snap, actor in rows:
        purpose = ctx.catalog.purpose(pid) if pid else None
        by_member = cid == SELF and actor.startswith("resident:") and actor != f"resident:{resident.person_id}"
        if by_member:  # another member of the household, for their own procedure
            recipient = {"client_id": cid, "name": "世帯員（本人手続）", "organisation": "本人以外の世帯員",
                         "kind": "household_member"}
            who = {"kind": "household_member", "person_id": actor.split(":", 1)[1]}
        elif cid == SELF:
            recipient = {"client_id": cid, "name": "本人（マイナポータル等）", "organisation": "本人", "kind": "self"}
            who = {"kind": "self", "person_id": resident.person_id}
        else:
            recipient = {"client_id": cid, "name": name, "organisation": org, "kind": kind}
            who = {"kind": kind, "client_id": cid}
        out.append({"seq": seq, "at": at, "recipient": recipient, "actor": who,
                    "purpose": {"id": pid, "name": purpose.name.model_dump() if purpose else None} if pid else None,
                    "legal_basis": basis, "consent_id": consent_id, "fields": json.loads(fields),
                    "outcome": outcome, "snapshot_id": snap})
    return Json(out)


@router.get("/consents", responses=ERRORS, summary="わたしの同意 / My consents")
def my_consents(ctx: Ctx, resident: ResidentDep) -> list[dict]:
    return consent.consents_of(ctx.store, resident.person_id)


@router.post("/consents", status_code=201, responses=ERRORS | {400: {"model": dict}},
             summary="同意を与える（同意レシートを返す） / Grant consent; returns a Kantara consent receipt")
def grant_consent(ctx: Ctx, resident: ResidentDep, body: ConsentRequest) -> dict:
    expires = dt.datetime.fromisoformat(body.expires_at) if body.expires_at else None  # validated by the schema
    try:
        return consent.grant(ctx.store, resident.person_id, body.purpose_id, body.recipient, expires,
                             "resident portal (本人によるオンライン同意)", ctx.settings.api_base_url)
    except consent.ConsentError as exc:
        raise ApiError(400, "consent_refused", str(exc)) from exc


@router.get("/consents/{consent_id}/receipt", responses=ERRORS, summary="同意レシート / A consent receipt")
def consent_receipt(ctx: Ctx, resident: ResidentDep, consent_id: ConsentId) -> dict:
    found = consent.receipt_of(ctx.store, resident.person_id, consent_id)
    if found is None:
        raise ApiError(404, "consent_not_found", "no such consent of yours")
    return found


@router.delete("/consents/{consent_id}", status_code=204, responses=ERRORS,
               summary="同意を撤回する（次のリクエストから有効） / Revoke consent, effective from the next request")
def revoke_consent(ctx: Ctx, resident: ResidentDep, consent_id: ConsentId) -> Response:
    if not consent.revoke(ctx.store, resident.person_id, consent_id):
        raise ApiError(404, "consent_not_found", "no live consent of yours with that id")
    return Response(status_code=204)


@router.delete("/credential", status_code=204, responses=ERRORS,
               summary="この認証情報を失効させる（ログアウト） / Revoke this credential (sign out)")
def sign_out(ctx: Ctx, resident: ResidentDep) -> Response:
    revoke_resident_credentials(ctx.store, credential_id=resident.credential_id)
    return Response(status_code=204)


@router.get("/procedures/{procedure_id}/prefill", responses=ERRORS,
            summary="本人による手続の事前入力 / Prefill of a procedure for myself")
async def my_prefill(request: Request, ctx: Ctx, resident: ResidentDep, served: ServedDep,
                     procedure_id: Annotated[str, Path(pattern=CATALOG_ID, description="手続ID")]):
    """本人自身のデータなので同意は不要。利用は本人のアクセス記録にも残る。/ One's own data: no consent needed; logged."""
    procedure = ctx.catalog.procedure(procedure_id)
    if procedure is None:
        raise ApiError(404, "unknown_procedure", "no such procedure (see /v1/procedures)")
    purpose = ctx.catalog.purpose(procedure.purpose)
    return await _prefill_answer(request, ctx, served, procedure, purpose, resident.person_id, SELF, "resident",
                                 None)
