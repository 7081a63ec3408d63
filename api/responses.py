"""JSON responses rendered by orjson (dates, lists and Japanese text as UTF-8, fast)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class Json(JSONResponse):
    """A JSON response (a JSONResponse, so that the OpenAPI document shows each route's response model)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class JsonLd(Json):
    media_type = "application/ld+json"
