"""The consented-data API: ``create_app`` builds it, ``onesource serve`` runs it under uvicorn."""

from __future__ import annotations

import gc
import logging
import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.accesslog import LogWriter, load_log_key
from api.catalog import load_catalog
from api.deps import REQUEST_ID, ApiError, Context, new_request_id
from api.guard import Guard
from api.ratelimit import RateLimiter
from api.responses import Json
from api.routes import businesses, docs, me, persons, public
from api.served import ReleaseWatcher
from api.store import Store
from core.masking import PlatformId, install_log_scrubbing, mask_my_numbers
from core.settings import Settings, get_settings

access = logging.getLogger("onesource.api.access")

DESCRIPTION = """\
市川市 OneSource の同意に基づくデータ提供 API。利用目的ごとに法令上の根拠または本人の同意を確認し、
その目的に必要な項目だけを提供します。すべての提供は改ざん検知可能なアクセス記録に残り、本人が確認できます。

The consented-data API of Ichikawa City's OneSource. Every use of personal data is bound to a purpose,
checked against a law or the person's live consent, limited to the fields that purpose needs, and
written to a hash-chained access log the person can read. Open data needs no credentials.
"""


class RequestLog:
    """Pure ASGI middleware: a request id on every response, and one log line per request that names the
    route's template (``/v1/persons/{person_id}``), never the path or the query as sent: what a caller
    puts in a URL (a 個人番号 in any spelling, a name, a forged log line) never reaches the log. The request id
    is the platform's own (a :class:`PlatformId`), so the log's scrubber leaves it whole."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = new_request_id()
        scope[REQUEST_ID] = rid
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access.isEnabledFor(logging.INFO):
                access.info("%s %s %s %.1fms %s", scope["method"], route_template(scope), status["code"],
                            (time.perf_counter() - started) * 1000, PlatformId(rid))


def route_template(scope) -> str:
    """The matched route's path template, or ``(unmatched)``."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "(unmatched)"


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Json:
    return Json({"error": {"code": code, "message": mask_my_numbers(message)}}, status_code=status,
                          headers=headers)


def _checkpoints(store: Store, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        try:
            store.checkpoint()
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            logging.getLogger("onesource.api").warning("store checkpoint failed: %s", type(exc).__name__)


def _settle_heap() -> None:
    """Move what the app keeps for its life (routes, validators, the catalog, the store's and the log
    writer's state) out of the cyclic collector's view: otherwise every full collection walks all of it
    while requests wait, a pause that was the lookups' p99 (bench/bench_api.py at 8 connections: 35 ms, 5 ms
    after). Requests free what they allocate by reference counting; their cycles are still collected."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, watch: bool = True) -> FastAPI:
    """The app. ``watch`` False loads the newest release once instead of polling (tests call refresh)."""
    settings = settings or get_settings()
    install_log_scrubbing()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = Store.from_settings(settings)
        store.create_schema()
        log_store = store.for_log_writer()
        writer = LogWriter(log_store, load_log_key(settings))
        writer.start()
        watcher = ReleaseWatcher(settings)
        if watch:
            watcher.start()
        else:
            watcher.refresh()
        app.state.ctx = Context(settings, store, load_catalog(), watcher, writer, app.state.limiter)
        stop = threading.Event()
        checkpointer = threading.Thread(target=_checkpoints, args=(store, stop), name="store-checkpoint",
                                        daemon=True)
        checkpointer.start()
        _settle_heap()
        try:
            yield
        finally:
            stop.set()
            checkpointer.join(timeout=10)
            watcher.stop()
            await writer.stop()
            log_store.close()
            store.close()
            gc.unfreeze()  # an app started in a longer-lived process (the tests) gives its heap back

    # no trailing-slash redirects: Starlette builds their Location from the Host header
    app = FastAPI(title="OneSource API (市川市)", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  redirect_slashes=False,
                  default_response_class=Json,
                  # the pages come from packaged assets (api/routes/docs.py), not FastAPI's CDN-loaded ones
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  openapi_tags=[
                      {"name": "persons / 個人", "description": "本人情報の目的限定提供と事前入力 / Purpose-bound person data"},
                      {"name": "businesses / 事業者", "description": "法人番号による事業者情報 / Businesses"},
                      {"name": "resident / 本人", "description": "本人による利用記録・同意の管理 / The resident's own view"},
                      {"name": "public / 公開", "description": "認証不要 / No credentials needed"},
                  ])

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
        return _error(422, "invalid_request", f"invalid or missing: {', '.join(where)}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, code.replace("_", " "), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        logging.getLogger("onesource.api").error("unhandled %s on %s", type(exc).__name__,
                                                 route_template(request.scope))
        return _error(500, "internal_error", "internal error")

    for module in (public, persons, businesses, me):
        app.include_router(module.router)
    docs.install(app)
    limiter = RateLimiter()
    app.state.limiter = limiter
    app.add_middleware(Guard, settings=settings, limiter=limiter)
    app.add_middleware(RequestLog)  # outermost: every request is logged, refused ones included
    return app
