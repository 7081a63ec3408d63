"""A person's data for a purpose, and the once-only prefill of a procedure."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import ApiError, ClientDep, Context, Ctx, ServedDep
from api.disclosure import SELF, authorize, person_fields, prefill
from api.responses import Json
from api.schemas import CATALOG_ID, PERSON_ID, Error, PersonData, Prefill

router = APIRouter(prefix="/v1", tags=["persons / 個人"])
ERRORS = {401: {"model": Error}, 403: {"model": Error}, 404: {"model": Error}, 413: {"model": Error},
          422: {"model": Error}, 429: {"model": Error}, 503: {"model": Error}}

PersonId = Annotated[str, Path(pattern=PERSON_ID, description="個人ID (stable person id, P + 9 digits).",
                                   examples=["P000000001"])]


def purpose_ref(purpose) -> dict:
    return {"id": purpose.id, "name": purpose.name.model_dump(), "legal_basis": purpose.legal_basis.model_dump(),
            "retention": purpose.retention}


@router.get("/persons/{person_id}", response_model=PersonData, responses=ERRORS,
            summary="利用目的に必要な本人情報 / A person's data for a purpose")
async def person_data(request: Request, client: ClientDep, served: ServedDep, person_id: PersonId,
                      purpose: Annotated[str, Query(pattern=CATALOG_ID, description="利用目的ID / purpose id",
                                                    examples=["jidou_teate"])]):
    """利用目的の法的根拠（法令）または本人の有効な同意がある場合に限り、その目的に必要な項目だけを返す。
    提供はすべてアクセス記録に残り、本人が確認できる。

    Only with a legal basis or the person's live consent, and only the fields the purpose needs.
    Every disclosure is in the access log the person can read."""
    ctx: Context = request.app.state.ctx  # not a dependency: this is the hot path
    p, consent_id = await authorize(ctx, request, client, purpose, "person", person_id, served)
    data = person_fields(served, person_id, p.fields)
    if not data:
        await ctx.log(request, client_id=client.client_id, actor=client.kind, subject_kind="person",
                      subject_id=person_id, purpose_id=p.id, legal_basis=p.legal_basis.kind, consent_id=consent_id,
                      fields=[], snapshot_id=served.snapshot_id, outcome="not_found")
        raise ApiError(404, "person_not_found", "no such person in the served release")
    seq = await ctx.log(request, client_id=client.client_id, actor=client.kind, subject_kind="person",
                        subject_id=person_id, purpose_id=p.id, legal_basis=p.legal_basis.kind, consent_id=consent_id,
                        fields=list(data), snapshot_id=served.snapshot_id, outcome="disclosed")
    await log_members(request, ctx, client.client_id, client.kind, p, consent_id, served, person_id, data)
    return Json({"person_id": person_id, "purpose": purpose_ref(p), "consent_id": consent_id,
                           "snapshot_id": served.snapshot_id, "release_id": served.release.release_id,
                           "access_log_seq": seq, "data": data},
                          headers={"X-OneSource-Snapshot": str(served.snapshot_id)})


@router.get("/procedures/{procedure_id}/prefill", response_model=Prefill, responses=ERRORS,
            summary="手続の事前入力（ワンスオンリー） / Once-only prefill of a procedure")
async def procedure_prefill(request: Request, ctx: Ctx, client: ClientDep, served: ServedDep,
                            procedure_id: Annotated[str, Path(pattern=CATALOG_ID, description="手続ID",
                                                                 examples=["jidou_teate_nintei_seikyu"])],
                            person_id: Annotated[str, Query(pattern=PERSON_ID, description="個人ID", examples=["P000000001"])]):
    """申請書のうち市が既に保有する項目を埋め、提出不要な添付書類を示す（手続の利用目的で確認）。

    The form fields the city already holds, filled in, and which attachments need not be submitted,
    under the procedure's purpose."""
    procedure = ctx.catalog.procedure(procedure_id)
    if procedure is None:
        raise ApiError(404, "unknown_procedure", "no such procedure (see /v1/procedures)")
    p, consent_id = await authorize(ctx, request, client, procedure.purpose, "person", person_id, served)
    return await _prefill_answer(request, ctx, served, procedure, p, person_id, client.client_id, client.kind,
                                 consent_id)


async def log_members(request, ctx, client_id, actor, purpose, consent_id, served, person_id, data) -> None:
    """Household members named in an answer had their data disclosed too: each gets an entry of their own."""
    members: dict[str, set[str]] = {}
    for f in ("household_members", "children_in_household"):
        for m in data.get(f) or []:
            if m["person_id"] != person_id:
                members.setdefault(m["person_id"], set()).add(f)
    if members:
        await asyncio.gather(*(ctx.log(request, client_id=client_id, actor=actor, subject_kind="person", subject_id=mid,
                                       purpose_id=purpose.id, legal_basis=purpose.legal_basis.kind,
                                       consent_id=consent_id, fields=sorted(fs), snapshot_id=served.snapshot_id,
                                       outcome="disclosed:household_member")
                               for mid, fs in sorted(members.items())))


async def _prefill_answer(request, ctx, served, procedure, purpose, person_id, client_id, actor, consent_id):
    if person_id not in served.persons:
        await ctx.log(request, client_id=client_id, actor=actor, subject_kind="person", subject_id=person_id,
                      purpose_id=purpose.id, legal_basis=purpose.legal_basis.kind, consent_id=consent_id, fields=[],
                      snapshot_id=served.snapshot_id, outcome="not_found")
        raise ApiError(404, "person_not_found", "no such person in the served release")
    body, used = prefill(served, procedure, purpose, person_id)
    seq = await ctx.log(request, client_id=client_id, actor=actor, subject_kind="person", subject_id=person_id,
                        purpose_id=purpose.id, legal_basis=purpose.legal_basis.kind, consent_id=consent_id,
                        fields=used, snapshot_id=served.snapshot_id, outcome="prefilled")
    filled = {f["field"]: f["value"] for f in body["form"] if f["held"]}
    # a resident's own prefill that names the household: each member's log says which member did it
    member_actor = f"resident:{person_id}" if client_id == SELF else actor
    await log_members(request, ctx, client_id, member_actor, purpose, consent_id, served, person_id, filled)
    body |= {"snapshot_id": served.snapshot_id, "access_log_seq": seq}
    return Json(body, headers={"X-OneSource-Snapshot": str(served.snapshot_id)})
