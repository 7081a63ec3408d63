"""Limits before work: the outermost layer of the API, before routing, parsing or authentication.

Every request is measured against the limits before anything reads it: the headers' total size (431), the
declared and the actual body size (413: a body is read only up to the limit, never whole), the nesting depth
of a JSON body (422: checked on the bytes, before any parser builds objects), and a per-address token bucket
(429) that every request spends from, credentials or not. The address is the socket's peer: a forwarded-for
header counts only when the server was told to trust the proxy that sent it (``ONESOURCE_API_TRUSTED_PROXIES``,
handed to uvicorn), so a client cannot pick a fresh bucket per request.

Responses that may carry personal data are never stored by a cache (``Cache-Control: no-store``): all but
the health check and the open data, which say how long they may be kept. Every answer also tells a browser
not to guess its type, frame it or send a referrer, and carries a Content-Security-Policy that lets it load
nothing (a JSON answer opened in a browser runs nothing); the documentation pages set their own, which allows
only the API's own assets (``api/routes/docs.py``).
"""

from __future__ import annotations

import orjson

ADDRESS = "onesource.address"
PUBLIC_PREFIXES = ("/health", "/v1/opendata/", "/v1/purposes", "/v1/procedures", "/openapi.json", "/docs",
                   "/redoc")
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"))
API_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'")


def client_address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


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


async def _refuse(send, status: int, code: str, message: str, headers: list | None = None) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), (b"connection", b"close"), *SECURITY_HEADERS,
                            API_POLICY, *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Pure ASGI middleware; ``limiter`` is the app's :class:`~api.ratelimit.RateLimiter`."""

    def __init__(self, app, settings, limiter) -> None:
        self.app, self.settings, self.limiter = app, settings, limiter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        s = self.settings
        address = client_address(scope)
        scope[ADDRESS] = address
        wait = self.limiter.take(f"addr:{address}", s.api_address_rate_per_second,
                                 max(1, int(s.api_address_rate_per_second * 2)))
        if wait > 0:
            retry = str(max(1, int(wait + 0.999))).encode()
            return await _refuse(send, 429, "rate_limited", "too many requests from this address",
                                 [(b"retry-after", retry)])
        headers = scope.get("headers") or []
        if sum(len(k) + len(v) for k, v in headers) + len(scope.get("raw_path") or b"") + \
                len(scope.get("query_string") or b"") > s.api_max_header_bytes:
            return await _refuse(send, 431, "headers_too_large", "request line and headers exceed "
                                 f"{s.api_max_header_bytes} bytes")
        declared = [v for k, v in headers if k == b"content-length"]
        if declared:
            if len(declared) > 1 or not declared[0].isdigit():
                return await _refuse(send, 400, "bad_request", "invalid Content-Length")
            if int(declared[0]) > s.api_max_body_bytes:
                return await _refuse(send, 413, "body_too_large", f"bodies are limited to {s.api_max_body_bytes} "
                                     "bytes")
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS") and not declared and \
                not any(k == b"transfer-encoding" for k, _ in headers):
            return await self._app(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > s.api_max_body_bytes:
                return await _refuse(send, 413, "body_too_large", f"bodies are limited to {s.api_max_body_bytes} "
                                     "bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        ctype = next((v for k, v in headers if k == b"content-type"), b"")
        if body and b"json" in ctype.lower() and json_too_deep(body, s.api_max_json_depth):
            return await _refuse(send, 422, "invalid_request", f"JSON nested deeper than {s.api_max_json_depth}")
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self._app(scope, replay, send)

    async def _app(self, scope, receive, send):
        path = scope.get("path", "")
        cacheable = path == "/health" or path.startswith(PUBLIC_PREFIXES)

        async def send_with_cache(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"public, max-age=300" if cacheable else b"no-store"))
                if API_POLICY[0] not in names:  # a documentation page brings its own
                    headers.append(API_POLICY)
                message["headers"] = [*headers, *SECURITY_HEADERS]
            await send(message)

        return await self.app(scope, receive, send_with_cache)
