"""The workbench as a small web app (Starlette): sign-in first, then the queue, a pair, a cluster, decisions.

Only signed-in operators (``onesource workbench operator add NAME``) see anything: every page but the sign-in
redirects there, and the server refuses to start while no operator exists. Sessions are random tokens kept in
memory (a restart signs everyone out), in an HttpOnly, SameSite=Strict cookie; a session holds while its
operator's password is the one it was opened with: removing or resetting the operator ends it at the next
request. Every form carries a CSRF token, the sign-in's too (a token of its own cookie: no page of another
site can sign a browser in). A password is hashed in a worker thread (scrypt takes tens of milliseconds: on the
event loop it would stall every other page).

Failed sign-ins are bounded so that a guesser is slowed and a steward is not locked out (OWASP's device
cookies): a browser that signed in as an operator keeps a signed device cookie for that name, and its attempts
count against that device only; attempts without one count against the client's address and against the
operator's name (5 at once, then one every 12 seconds each). Behind the city's proxy, where every steward
shares one address, the proxy is trusted by configuration (``ONESOURCE_API_TRUSTED_PROXIES``) as the API's
is; and even untrusted, a guesser hammering a name holds back only browsers that never signed in as it.

Redirects are relative and built by the app, never from the Host header (no trailing-slash redirect). The web
layer (``web.layer.protect``) stands in front, as it does for the API: the per-address throttle, the limits
before work, the security headers, pages never cached, the refusals as pages of the workbench, and the request
log. Where the lake sits on the PostgreSQL catalog, the workbench itself connects as the data team's role (the
server's settings), so the engine, not the page, limits what it can reach.
"""

from __future__ import annotations

import hashlib
import hmac
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
SIGN_IN_COOKIE = "onesource_signin"  # the sign-in form's CSRF token
DEVICE_COOKIE = "onesource_device"  # a browser that signed in as an operator before
SESSION_SECONDS = 8 * 3600
DEVICE_SECONDS = 180 * 86400
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
    stamp: str  # the operator's password salt at sign-in (operators.stamp)


class Sessions:
    def __init__(self) -> None:
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, operator: str, stamp: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._by_token = {t: s for t, s in self._by_token.items() if s.expires > now}
            self._by_token[token] = Session(operator, secrets.token_urlsafe(24), now + SESSION_SECONDS, stamp)
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


REFUSALS = html(_refusal)


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


def _device_mark(key: bytes, operator: str, nonce: str) -> str:
    return hmac.new(key, f"{operator}\0{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def create_app(settings: Settings) -> Starlette:
    sessions = Sessions()
    limiter = RateLimiter()
    failures = Failures(limiter, FAILURES_PER_MINUTE / 60, FAILURES_PER_MINUTE)
    device_key = operators.device_key(settings)  # read once: every sign-in signs or checks with it

    def session_of(request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        s = sessions.get(token)
        if s is not None and operators.stamp(settings, s.operator) != s.stamp:  # removed or reset since
            sessions.close(token)
            log.info("workbench: a session ended: its operator was removed or reset")
            return None
        return s

    def device_of(request: Request, operator: str) -> str | None:
        """The nonce of this browser's device cookie when it is a valid one for ``operator``."""
        nonce, _, mark = (request.cookies.get(DEVICE_COOKIE) or "").partition(".")
        if not nonce or not mark:
            return None
        good = _device_mark(device_key, operator, nonce)
        return nonce if secrets.compare_digest(mark, good) else None

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

    def sign_in_page(error: str | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        response = _page(render("login", error=error, csrf=token), status, headers)
        response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                            secure=settings.workbench_secure_cookie, path="/")
        return response

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return sign_in_page(None)
        try:
            form = await _form(request)
        except ValueError as exc:
            return sign_in_page(str(exc), 413)
        if not secrets.compare_digest(_one(form, "csrf"), request.cookies.get(SIGN_IN_COOKIE) or "\0"):
            return sign_in_page("フォームの有効期限が切れました。もう一度入力してください。", 403)
        name, password = _one(form, "operator").strip(), _one(form, "password")
        device = device_of(request, name)
        # a known device counts against itself only; anyone else against the address and the operator's name
        counted = [f"device:{device}"] if device else [f"address:{address_of(request.scope)}", f"name:{name[:64]}"]
        wait = max(failures.wait(key) for key in counted)
        if wait > 0:
            return sign_in_page("試行が多すぎます。しばらくしてからもう一度。Too many attempts; wait a minute.",
                                429, {"Retry-After": str(retry_after(wait))})
        if not await run_in_threadpool(operators.verify, settings, name, password):
            for key in counted:
                failures.failed(key)
            log.warning("workbench: a failed sign-in")  # never the name or the password
            return sign_in_page("審査者名またはパスワードが違います。", 401)
        stamp = operators.stamp(settings, name)
        if stamp is None:  # removed while the password was checked
            return sign_in_page("審査者名またはパスワードが違います。", 401)
        response = _see("queue?entity=person")
        response.set_cookie(COOKIE, sessions.open(name, stamp), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=settings.workbench_secure_cookie, path="/")
        nonce = device or secrets.token_urlsafe(16)
        response.set_cookie(DEVICE_COOKIE, f"{nonce}.{_device_mark(device_key, name, nonce)}",
                            max_age=DEVICE_SECONDS, httponly=True, samesite="strict",
                            secure=settings.workbench_secure_cookie, path="/")
        response.delete_cookie(SIGN_IN_COOKIE, path="/")
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
    app.router.redirect_slashes = False  # Starlette's would build its Location from the Host header
    protect(app, limits=Limits.of(settings), refusals=REFUSALS, policy=POLICY, limiter=limiter,
            access_log="onesource.workbench.access")
    return app
