"""What needs no credentials: health, the purpose and procedure catalogs, open data."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from api.deps import Anonymous, ApiError, Ctx
from api.responses import Json, JsonLd
from api.routes.persons import ERRORS
from api.schemas import CATALOG_ID

router = APIRouter(tags=["public / 公開"])


@router.get("/health", summary="稼働確認 / Liveness")
async def health() -> dict:
    return Json({"status": "ok"})


@router.get("/v1/status", dependencies=[Anonymous], summary="提供中のリリース / The release being served")
def status(ctx: Ctx) -> dict:
    cur = ctx.watcher.current
    if cur is None:
        return {"release": None}
    return {"release": {"release_id": cur.release.release_id, "snapshot_id": cur.snapshot_id,
                        "released_at": cur.release.released_at.isoformat(), "as_of": cur.as_of.isoformat()},
            "rows": cur.counts}


@router.get("/v1/purposes", dependencies=[Anonymous], summary="利用目的カタログ / The purpose catalog")
def purposes(ctx: Ctx) -> list[dict]:
    return [p.model_dump() for p in ctx.catalog.purposes]


@router.get("/v1/purposes/{purpose_id}", dependencies=[Anonymous], responses=ERRORS,
            summary="利用目的 / One purpose")
def purpose(ctx: Ctx, purpose_id: Annotated[str, Path(pattern=CATALOG_ID)]) -> dict:
    found = ctx.catalog.purpose(purpose_id)
    if found is None:
        raise ApiError(404, "unknown_purpose", "no such purpose in the catalog")
    fields = {f: ctx.catalog.person_fields[f].model_dump() for f in found.fields if f in ctx.catalog.person_fields}
    return found.model_dump() | {"field_descriptions": fields}


@router.get("/v1/procedures", dependencies=[Anonymous], summary="事前入力できる手続 / Procedures with prefill")
def procedures(ctx: Ctx) -> list[dict]:
    return [p.model_dump() for p in ctx.catalog.procedures]


def _opendata_catalog(ctx) -> dict:
    path = ctx.settings.home / "opendata" / "catalog.jsonld"
    if not path.is_file():
        raise ApiError(503, "no_open_data", "open data has not been published yet")
    return json.loads(path.read_text(encoding="utf-8"))


@router.get("/v1/opendata/catalog", dependencies=[Anonymous], responses=ERRORS,
            summary="オープンデータカタログ (DCAT-AP, JSON-LD) / Open-data catalog")
def opendata_catalog(ctx: Ctx):
    return JsonLd(_opendata_catalog(ctx))


@router.get("/v1/opendata/files/{file_name}", dependencies=[Anonymous], responses=ERRORS,
            summary="オープンデータのファイル (CSV) / An open-data file")
def opendata_file(ctx: Ctx, file_name: Annotated[str, Path(pattern=r"^[0-9A-Za-z_\-]{1,100}\.csv$",
                                                            description="File name from the catalog.")]):
    """Only files the catalog lists are served; any other name is 404."""
    published = set()
    for ds in _opendata_catalog(ctx).get("dcat:dataset", []):
        for dist in ds.get("dcat:distribution", []):
            url = (dist.get("dcat:downloadURL") or {}).get("@id", "")
            published.add(url.rsplit("/", 1)[-1])
    if file_name not in published:
        raise ApiError(404, "unknown_file", "no such file in the open-data catalog")
    path = ctx.settings.home / "opendata" / file_name
    if not path.is_file():
        raise ApiError(404, "unknown_file", "no such file in the open-data catalog")
    charset = "shift_jis" if path.stem.endswith("_sjis") else "utf-8"  # the CP932 copy, as the city published
    return FileResponse(path, media_type=f"text/csv; charset={charset}", filename=file_name)

