"""The web layer put around an app, the same for the API and the workbench."""

from __future__ import annotations

from starlette.applications import Starlette

from core.masking import install_log_scrubbing
from web.guard import Guard, Limits
from web.refusals import Refusals, install
from web.requestlog import RequestLog
from web.throttle import RateLimiter


def protect(app: Starlette, *, limits: Limits, refusals: Refusals, policy: str, access_log: str,
            limiter: RateLimiter, public: tuple[str, ...] = ()) -> None:
    """Around ``app``, outside in: the request log (logger ``access_log``), the guard (``limits``, the per-address
    throttle spending from ``limiter``, the headers with ``policy`` as Content-Security-Policy, ``public`` the
    cacheable path prefixes), and the routing's errors as ``refusals``. The process's log lines are scrubbed of
    個人番号 from here on. ``limiter`` is also ``app.state.limiter``: the app's own throttles spend from it."""
    install_log_scrubbing()
    app.state.limiter = limiter
    install(app, refusals)
    app.add_middleware(Guard, limits=limits, limiter=limiter, refusals=refusals, policy=policy, public=public)
    app.add_middleware(RequestLog, logger=access_log)  # outermost: every request is logged, refused ones included
