"""The workbench as a small web app (Starlette): sign-in first, then the queue, a pair, a cluster, decisions.

Only signed-in operators (``onesource workbench operator add NAME``) see anything: every page but the sign-in
redirects there, and the server refuses to start while no operator exists. Sessions are random tokens kept in
memory (a restart signs everyone out), in an HttpOnly, SameSite=Strict cookie; every form carries the
session's CSRF token; failed sign-ins are throttled per client address, and a password is hashed in a worker
thread (scrypt takes tens of milliseconds: on the event loop it would stall every other page); redirects are
relative (never built from the Host header). The web layer (``web.layer.protect``) stands in front, as it does
for the API: the per-address throttle, the limits before work, the security headers, pages never cached, the
refusals as pages of the workbench, and the request log. Where the lake sits on the PostgreSQL catalog, the
workbench itself connects as the data team's role (the server's settings), so the engine, not the page, limits
what it can reach.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from core import lake
from core.settings import Settings
from identity.explain import FIELDS, UnknownId, explain
from web.guard import Limits, address_of
from web.layer import protect
from web.refusals import html
from web.throttle import Failures, RateLimiter, retry_after
from workbench import data, operators
from workbench.pages import render

log = logging.getLogger(__name__)
COOKIE = "onesource_workbench"
SESSION_SECONDS = 8 * 3600
FAILURES_PER_MINUTE = 5
# plain pages: their own inline styles, forms posted back to the workbench, nothing else
POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
REFUSED = "受け付けられません"
# the titles and texts of the refusals that say more than the web layer's message
REFUSAL_PAGES = {404: ("見つかりません", "そのページはありません。"),
                 500: ("エラー", "ページを表示できませんでした。記録を確認してください。")}


@dataclass
class Session:
    operator: str
    csrf: str
    expires: float


class Sessions:
    def __init__(self) -> None:
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, operator: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._by_token = {t: s for t, s in self._by_token.items() if s.expires > now}
            self._by_token[token] = Session(operator, secrets.token_urlsafe(24), now + SESSION_SECONDS)
        return token

    def get(self, token: str | None) -> Session | None:
        with self._lock:
            s = self._by_token.get(token or "")
            return s if s and s.expires > time.time() else None

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)


def _page(page: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(page, status_code=status, headers=headers)


def _see(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def _refusal(status: int, code: str, message: str) -> str:
    title, text = REFUSAL_PAGES.get(status, (REFUSED if status < 500 else "エラー", message))
    return render("message", title=title, message=text)


async def _form(request: Request) -> dict[str, list[str]]:
    """The posted form (its size was bounded by the guard before anything read it)."""
    body = await request.body()
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=2000)


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def create_app(settings: Settings) -> Starlette:
    sessions = Sessions()
    limiter = RateLimiter()
    failures = Failures(limiter, FAILURES_PER_MINUTE / 60, FAILURES_PER_MINUTE)

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE))

    def guarded(handler):
        async def wrapped(request: Request) -> Response:
            s = session_of(request)
            if s is None:
                return _see("login")
            if request.method == "POST":
                try:
                    form = await _form(request)
                except ValueError as exc:
                    return _page(render("message", title=REFUSED, message=str(exc)), 413)
                if not secrets.compare_digest(_one(form, "csrf"), s.csrf):
                    return _page(render("message", title=REFUSED,
                                        message="フォームの有効期限が切れました。ページを開き直してください。"), 403)
                request.state.form = form
            try:
                return await handler(request, s)
            except (ValueError, LookupError, UnknownId) as exc:
                return _page(render("message", title=REFUSED, message=str(exc), operator=s.operator, csrf=s.csrf),
                             400)
        return wrapped

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return _page(render("login", error=None))
        address = address_of(request.scope)
        wait = failures.wait(address)
        if wait > 0:
            return _page(render("login", error="試行が多すぎます。1 分後にもう一度。Too many attempts; wait a minute."),
                         429, {"Retry-After": str(retry_after(wait))})
        try:
            form = await _form(request)
        except ValueError as exc:
            return _page(render("login", error=str(exc)), 413)
        name, password = _one(form, "operator").strip(), _one(form, "password")
        if not await run_in_threadpool(operators.verify, settings, name, password):
            failures.failed(address)
            log.warning("workbench: a failed sign-in")  # never the name or the password
            return _page(render("login", error="審査者名またはパスワードが違います。"), 401)
        response = _see("queue?entity=person")
        response.set_cookie(COOKIE, sessions.open(name), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                            secure=settings.workbench_secure_cookie, path="/")
        log.info("workbench: %s signed in", name)
        return response

    @guarded
    async def logout(request: Request, s: Session) -> Response:
        sessions.close(request.cookies.get(COOKIE))
        response = _see("login")
        response.delete_cookie(COOKIE, path="/")
        return response

    async def root(request: Request) -> Response:
        return _see("queue?entity=person")

    @guarded
    async def queue(request: Request, s: Session) -> Response:
        q = request.query_params
        entity = data.check_entity(q.get("entity", "person"))
        show = "all" if q.get("show") == "all" else "open"
        reason = q.get("reason") if q.get("reason") in ("uncertain_score", "key_conflict") else None
        systems = ("juki", "zei", "kokuho", "kosodate", "hojokin", "madoguchi") if entity == "person" \
            else ("houjin", "keiyaku", "hojokin")
        system = q.get("system") if q.get("system") in systems else None
        min_p, max_p = _float(q.get("min")), _float(q.get("max"))
        con = lake.connect(settings, read_only=True)
        try:
            rows, total = data.queue(con, entity, system, min_p, max_p, reason, show)
        finally:
            con.close()
        return _page(render("queue", rows=rows, total=total, entity=entity, systems=systems, system=system,
                            reason=reason, min_p=min_p, max_p=max_p, show=show, link=data.LinkageConfig().link,
                            labels=data.LABELS, operator=s.operator, csrf=s.csrf))

    @guarded
    async def pair(request: Request, s: Session) -> Response:
        q = request.query_params
        entity = data.check_entity(q.get("entity", "person"))
        con = lake.connect(settings, read_only=True)
        try:
            p = data.pair(con, entity, q.get("l", ""), q.get("r", ""))
        finally:
            con.close()
        raw_keys = sorted(set(p["left"]["raw"]) | set(p["right"]["raw"]))
        return _page(render("pair", p=p, l=p["left"], r=p["right"], raw_keys=raw_keys, labels=data.LABELS,
                            operator=s.operator, csrf=s.csrf))

    @guarded
    async def decide(request: Request, s: Session) -> Response:
        f = request.state.form
        entity = data.check_entity(_one(f, "entity"))
        left, right = _one(f, "l"), _one(f, "r")
        con = lake.connect(settings)
        try:
            data.decide(con, entity, left, right, _one(f, "decision"), s.operator, _one(f, "note"))
        finally:
            con.close()
        log.info("workbench: %s recorded a decision", s.operator)
        return _see(f"pair?entity={entity}&l={quote(left)}&r={quote(right)}")

    @guarded
    async def cluster(request: Request, s: Session) -> Response:
        con = lake.connect(settings, read_only=True)
        try:
            x = explain(con, request.query_params.get("id", ""))
        finally:
            con.close()
        return _page(render("cluster", x=x, fields=FIELDS[x.entity], labels=data.LABELS, operator=s.operator,
                            csrf=s.csrf))

    @guarded
    async def split(request: Request, s: Session) -> Response:
        f = request.state.form
        entity_id = _one(f, "id")
        con = lake.connect(settings)
        try:
            data.split(con, entity_id, f.get("records", []), s.operator, _one(f, "note"))
        finally:
            con.close()
        log.info("workbench: %s split a cluster", s.operator)
        return _see(f"cluster?id={quote(entity_id)}")

    routes = [Route("/", root), Route("/login", login, methods=["GET", "POST"]),
              Route("/logout", logout, methods=["POST"]), Route("/queue", queue), Route("/pair", pair),
              Route("/decide", decide, methods=["POST"]), Route("/cluster", cluster),
              Route("/split", split, methods=["POST"])]
    app = Starlette(routes=routes)
    protect(app, limits=Limits.of(settings), refusals=html(_refusal), policy=POLICY, limiter=limiter,
            access_log="onesource.workbench.access")
    return app
