"""Limits before work: the outermost guard of an app, before routing, parsing or authentication.

Every request spends from its address's token bucket first (429), credentials or not; then it is measured
against the limits before anything reads it: the request target's length (414), the number of headers and the
size of the request line and headers together (431), the declared and the actual body size (413: a body is
read only up to the limit, never whole), and where the app takes JSON the nesting depth of a JSON body (422:
checked on the bytes, before any parser builds objects). The address is the socket's peer: a forwarded-for
header counts only when the server was told to trust the proxy that sent it (``ONESOURCE_API_TRUSTED_PROXIES``,
handed to uvicorn), so a client cannot pick a fresh bucket per request.

Every answer tells a browser not to guess its type, frame it or send a referrer, and carries the app's
Content-Security-Policy unless the response brings its own (the API's documentation pages). Responses are never
stored by a cache (``Cache-Control: no-store``: they may carry personal data) but under the app's public
prefixes (the API's health check and open data), which say how long they may be kept. An error the app did not
handle is logged and answered with the app's 500 refusal, never a traceback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.settings import Settings
from web.refusals import Refusals
from web.requestlog import route_template
from web.throttle import RateLimiter, retry_after

log = logging.getLogger(__name__)
ADDRESS = "onesource.address"
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"))
CSP = b"content-security-policy"
BODYLESS = ("GET", "HEAD", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Limits:
    """What one request may be, checked before the app sees it; ``json_depth`` None: the app takes no JSON."""

    rate_per_second: float  # per address, burst twice that
    max_url_bytes: int  # path and query as sent
    max_header_count: int
    max_header_bytes: int  # request line and headers
    max_body_bytes: int
    json_depth: int | None = None

    @classmethod
    def of(cls, settings: Settings, json: bool = False) -> Limits:
        """The settings' limits (the same for both apps); ``json``: JSON bodies are bounded in depth too."""
        return cls(settings.api_address_rate_per_second, settings.web_max_url_bytes, settings.web_max_header_count,
                   settings.api_max_header_bytes, settings.api_max_body_bytes,
                   settings.api_max_json_depth if json else None)


def client_address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def address_of(scope) -> str:
    """The address the guard counted this request against."""
    return scope.get(ADDRESS) or client_address(scope)


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in ``body`` nest deeper than ``limit`` (strings and escapes skipped)."""
    depth = 0
    in_string = escaped = False
    for b in body:
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:
                in_string = False
        elif b == 0x22:
            in_string = True
        elif b in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
    return False


class Guard:
    """Pure ASGI middleware. ``policy`` is the app's Content-Security-Policy, ``public`` the path prefixes whose
    answers a cache may keep for five minutes."""

    def __init__(self, app, limits: Limits, limiter: RateLimiter, refusals: Refusals, policy: str,
                 public: tuple[str, ...] = ()) -> None:
        self.app, self.limits, self.limiter, self.refusals = app, limits, limiter, refusals
        self.policy, self.public = (CSP, policy.encode()), public

    async def _refuse(self, send, status: int, code: str, message: str, headers: tuple = ()) -> None:
        await self.refusals.send(send, status, code, message,
                                 [(b"cache-control", b"no-store"), *SECURITY_HEADERS, self.policy, *headers])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        lim = self.limits
        address = client_address(scope)
        scope[ADDRESS] = address
        wait = self.limiter.take(f"addr:{address}", lim.rate_per_second, max(1, int(lim.rate_per_second * 2)))
        if wait > 0:
            return await self._refuse(send, 429, "rate_limited", "too many requests from this address",
                                      ((b"retry-after", str(retry_after(wait)).encode()),))
        target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if target > lim.max_url_bytes:
            return await self._refuse(send, 414, "uri_too_long", f"the path and query exceed {lim.max_url_bytes} "
                                      "bytes")
        headers = scope.get("headers") or []
        if len(headers) > lim.max_header_count:
            return await self._refuse(send, 431, "headers_too_large", f"more than {lim.max_header_count} headers")
        if sum(len(k) + len(v) for k, v in headers) + target > lim.max_header_bytes:
            return await self._refuse(send, 431, "headers_too_large", "request line and headers exceed "
                                      f"{lim.max_header_bytes} bytes")
        too_large = f"bodies are limited to {lim.max_body_bytes} bytes"
        declared = [v for k, v in headers if k == b"content-length"]
        if declared:
            if len(declared) > 1 or not declared[0].isdigit():
                return await self._refuse(send, 400, "bad_request", "invalid Content-Length")
            if int(declared[0]) > lim.max_body_bytes:
                return await self._refuse(send, 413, "body_too_large", too_large)
        if scope["method"] in BODYLESS and not declared and not any(k == b"transfer-encoding" for k, _ in headers):
            return await self._app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > lim.max_body_bytes:
                return await self._refuse(send, 413, "body_too_large", too_large)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        ctype = next((v for k, v in headers if k == b"content-type"), b"")
        if lim.json_depth is not None and body and b"json" in ctype.lower() and json_too_deep(body, lim.json_depth):
            return await self._refuse(send, 422, "invalid_request", f"JSON nested deeper than {lim.json_depth}")
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self._app(scope, replay, send)

    async def _app(self, scope, receive, send):
        cacheable = scope.get("path", "").startswith(self.public)
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"public, max-age=300" if cacheable else b"no-store"))
                if CSP not in names:
                    headers.append(self.policy)
                message["headers"] = [*headers, *SECURITY_HEADERS]
            await send(message)

        try:
            return await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - a refusal, never a traceback
            log.error("unhandled %s on %s", type(exc).__name__, route_template(scope), exc_info=exc)
            if not started:
                await self._refuse(send, 500, "internal_error", "internal error")
