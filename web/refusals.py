"""How an app says no: a status, a stable code and a message, rendered as the app speaks (JSON for the API, an
HTML page for the workbench) with the same status codes in both.

A refusal never carries a traceback, nor what the caller sent: its message is the app's own, and any 個人番号
in it is masked all the same. No cache keeps one, under a public path neither. The guard sends refusals before the app has seen the request (:meth:`Refusals.send`,
plain ASGI); the app's handlers answer with :meth:`Refusals.response`, and :func:`install` makes every
``HTTPException`` of the routing (404, 405) one.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from core.masking import mask_my_numbers

# the codes the routing's errors get; any other status is an "http_error"
HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


class Refusals:
    """``render(status, code, message)`` gives the body of one refusal in ``media_type``."""

    def __init__(self, media_type: str, render: Callable[[int, str, str], str | bytes]) -> None:
        self.media_type, self._render = media_type, render

    def body(self, status: int, code: str, message: str) -> bytes:
        body = self._render(status, code, mask_my_numbers(message))
        return body.encode() if isinstance(body, str) else body

    def response(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
        return Response(self.body(status, code, message), status_code=status, media_type=self.media_type,
                        headers={"Cache-Control": "no-store", **(headers or {})})

    async def send(self, send, status: int, code: str, message: str, headers: list | tuple = ()) -> None:
        """The refusal as the whole response, the connection closed after it (the rest of a body is not read)."""
        body = self.body(status, code, message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", self.media_type.encode()),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                                *headers]})
        await send({"type": "http.response.body", "body": body})


def _json(status: int, code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message}})


JSON = Refusals("application/json", _json)


def html(page: Callable[[int, str, str], str]) -> Refusals:
    """Refusals as HTML pages; ``page`` renders one (and escapes the message)."""
    return Refusals("text/html; charset=utf-8", page)


def install(app: Starlette, refusals: Refusals) -> None:
    """The routing's errors (no such path, a method the path does not take) as refusals of the app."""

    async def http_error(request: Request, exc: HTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return refusals.response(exc.status_code, code, code.replace("_", " "), exc.headers)

    app.add_exception_handler(HTTPException, http_error)
