"""The consented-data API: ``create_app`` builds it, ``onesource serve`` runs it under uvicorn."""

from __future__ import annotations

import gc
import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from api.accesslog import LogWriter, load_log_key
from api.catalog import load_catalog
from api.deps import AUTH_FAILURE_BURST, ApiError, Context
from api.responses import Json
from api.routes import businesses, docs, me, persons, public
from api.served import ReleaseWatcher
from api.store import Store
from core.settings import Settings, get_settings
from web.guard import Limits
from web.layer import protect
from web.refusals import JSON
from web.throttle import Failures, RateLimiter

# answers a cache may keep (five minutes): the health check, the open data and the catalogs, the documentation
PUBLIC_PREFIXES = ("/health", "/v1/opendata/", "/v1/purposes", "/v1/procedures", "/openapi.json", "/docs",
                   "/redoc")
# a JSON answer opened in a browser loads and runs nothing; the documentation pages set their own
# (api/routes/docs.py), which allows only the API's own assets
POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

DESCRIPTION = """\
市川市 OneSource の同意に基づくデータ提供 API。利用目的ごとに法令上の根拠または本人の同意を確認し、
その目的に必要な項目だけを提供します。すべての提供は改ざん検知可能なアクセス記録に残り、本人が確認できます。

The consented-data API of Ichikawa City's OneSource. Every use of personal data is bound to a purpose,
checked against a law or the person's live consent, limited to the fields that purpose needs, and
written to a hash-chained access log the person can read. Open data needs no credentials.
"""


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
    limiter = RateLimiter()

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
        app.state.ctx = Context(settings, store, load_catalog(), watcher, writer, limiter,
                                Failures(limiter, settings.api_auth_failure_rate_per_second, AUTH_FAILURE_BURST))
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
        return JSON.response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        where = sorted({".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()})
        return JSON.response(422, "invalid_request", f"invalid or missing: {', '.join(where)}")

    for module in (public, persons, businesses, me):
        app.include_router(module.router)
    docs.install(app)
    protect(app, limits=Limits.of(settings, json=True), refusals=JSON, policy=POLICY, limiter=limiter,
            public=PUBLIC_PREFIXES, access_log="onesource.api.access")
    return app
