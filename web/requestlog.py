"""The request log: one line per request, refused ones included, with nothing personal in it.

A line names the matched route's template (``/v1/persons/{person_id}``, ``/pair``), never the path or the query
as sent: what a caller puts in a URL (a 個人番号 in any spelling, a name, a forged log line) never reaches the
log. Every response carries its request id (``X-Request-ID``), the platform's own (a :class:`PlatformId`), so
the log's scrubber (``core.masking.install_log_scrubbing``, which :func:`web.layer.protect` installs) leaves it
whole.
"""

from __future__ import annotations

import logging
import time
import uuid

from core.masking import PlatformId

REQUEST_ID = "onesource.request_id"


def new_request_id() -> str:
    return uuid.uuid4().hex


def route_template(scope) -> str:
    """The matched route's path template, or ``(unmatched)``."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "(unmatched)"


class RequestLog:
    """Pure ASGI middleware, outermost; ``logger`` names the app's access log."""

    def __init__(self, app, logger: str) -> None:
        self.app, self.log = app, logging.getLogger(logger)

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
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        async def receive_watched():
            message = await receive()
            if message["type"] == "http.disconnect" and status["code"] == 500:
                status["code"] = "gone"  # the client left (or the server cut it off) before any answer
            return message

        try:
            await self.app(scope, receive_watched, send_with_id)
        finally:
            if self.log.isEnabledFor(logging.INFO):
                self.log.info("%s %s %s %.1fms %s", scope["method"], route_template(scope), status["code"],
                              (time.perf_counter() - started) * 1000, PlatformId(rid))
