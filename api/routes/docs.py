"""The API's documentation pages, Swagger UI at ``/docs`` and ReDoc at ``/redoc``, served from packaged assets.

FastAPI's own pages load Swagger UI and ReDoc from a public CDN, so on a city network without the internet
(LGWAN) they are blank. The assets here come from the ``fastapi-offline`` wheel (Swagger UI 5 and ReDoc 2,
pinned in the lock file) and are served by the API itself under ``/docs/assets/``. Each page carries its own
Content-Security-Policy: scripts, styles and fonts only from the API itself, and the one inline script
(Swagger UI's start-up) allowed by its hash, so nothing on the page can load from or send to anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"
ASSET_PACKAGE = ("fastapi_offline", "static")  # swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

router = APIRouter(include_in_schema=False)


def page_policy(html: str) -> str:
    """The CSP of a documentation page: only this API's own assets, its inline scripts by their hashes.

    ReDoc styles its page with inline ``<style>`` elements and runs its search in a worker made from a blob,
    hence ``'unsafe-inline'`` for styles (never for scripts) and ``blob:`` for workers; images may be data
    URIs (Swagger UI's icons)."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(html))
    return ("default-src 'none'; "
            f"script-src 'self'{' ' + hashes if hashes else ''}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = page_policy(page.body.decode())
    return page


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return _with_policy(get_swagger_ui_html(
        openapi_url="/openapi.json", title="OneSource API (市川市) - Swagger UI",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        # no validator badge: Swagger UI would send the document to validator.swagger.io for it
        swagger_ui_parameters={"validatorUrl": None, "docExpansion": "list"}))


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _with_policy(get_redoc_html(
        openapi_url="/openapi.json", title="OneSource API (市川市) - ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False))


def install(app: FastAPI) -> None:
    """The two pages and their assets on ``app`` (built with ``docs_url=None, redoc_url=None``)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(packages=[ASSET_PACKAGE]), name="docs-assets")
