"""A business by 法人番号: public registry data to anyone, the rest by purpose."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import ApiError, Ctx, OptionalClientDep, ServedDep
from api.disclosure import authorize, business_fields
from api.responses import Json
from api.routes.persons import ERRORS, purpose_ref
from api.schemas import CATALOG_ID, HOUJIN_BANGO, Business

router = APIRouter(prefix="/v1", tags=["businesses / 事業者"])


@router.get("/businesses/{houjin_bango}", response_model=Business, responses=ERRORS,
            summary="法人番号による事業者情報 / A business by its corporate number")
async def business(request: Request, ctx: Ctx, client: OptionalClientDep, served: ServedDep,
                   houjin_bango: Annotated[str, Path(pattern=HOUJIN_BANGO, description="法人番号 (13 digits)")],
                   purpose: Annotated[str | None, Query(pattern=CATALOG_ID,
                                                        description="利用目的ID (restricted data only)")] = None):
    """国税庁法人番号公表サイトの公表情報は認証なしで返す。契約・補助金などはクライアント認証と利用目的が必要。

    The NTA's public registry data needs no credentials; contracts and subsidies need a client and a purpose."""
    found = served.businesses_by_houjin.first(houjin_bango)
    if purpose is not None and client is None:
        raise ApiError(401, "unauthenticated", "restricted business data needs an API key (X-API-Key)",
                       headers={"WWW-Authenticate": "ApiKey"})
    if found is None:
        raise ApiError(404, "business_not_found", "no business with that 法人番号 in the served release")
    business_id = found["business_id"]
    public = {k: found.get(k) for k in ctx.catalog.business_public_fields}
    public["houjin_bango"] = houjin_bango
    body = {"houjin_bango": houjin_bango, "business_id": business_id, "public": public,
            "purpose": None, "restricted": None, "snapshot_id": served.snapshot_id, "access_log_seq": None}
    if purpose is not None:
        p, consent_id = await authorize(ctx, request, client, purpose, "business", business_id, served)
        restricted = business_fields(served, business_id, p.fields)
        seq = await ctx.log(request, client_id=client.client_id, actor=client.kind, subject_kind="business",
                            subject_id=business_id, purpose_id=p.id, legal_basis=p.legal_basis.kind,
                            consent_id=consent_id, fields=list(restricted), snapshot_id=served.snapshot_id,
                            outcome="disclosed")
        body |= {"purpose": purpose_ref(p), "restricted": restricted, "access_log_seq": seq}
    return Json(body, headers={"X-OneSource-Snapshot": str(served.snapshot_id)})
