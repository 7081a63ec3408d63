"""Dependencies of the routes: the app's context, who is calling, and the release being served."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.accesslog import LogWriter, new_entry
from api.catalog import Catalog
from api.clients import Client, Resident, authenticate_client, authenticate_resident
from api.served import ReleaseWatcher, Served
from api.store import Store
from core.settings import Settings
from web.guard import address_of
from web.requestlog import REQUEST_ID, new_request_id
from web.throttle import Failures, RateLimiter, retry_after


class ApiError(Exception):
    """An error answer: status, a stable code and a message that never echoes the caller's input."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


@dataclass
class Context:
    settings: Settings
    store: Store
    catalog: Catalog
    watcher: ReleaseWatcher
    writer: LogWriter
    limiter: RateLimiter
    failures: Failures  # failed authentications per address, in the limiter

    async def log(self, request: Request, **fields: Any) -> int:
        """Append an access-log entry and wait until it is durable; returns its seq."""
        entry = new_entry(request_id=request.scope.get(REQUEST_ID) or new_request_id(), **fields)
        try:
            return await self.writer.write(entry)
        except Exception as exc:
            raise ApiError(503, "access_log_unavailable",
                           "the access could not be recorded, so no data is released; retry later") from exc


async def get_context(request: Request) -> Context:
    return request.app.state.ctx


Ctx = Annotated[Context, Depends(get_context)]

client_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ClientKey",
                          description="登録済みクライアントの API キー / API key of a registered client (osk_...).")
resident_token = HTTPBearer(auto_error=False, scheme_name="ResidentToken",
                            description="本人の認証情報（マイナポータル等でのログイン後に発行）/ Resident credential "
                                        "(osr_...), issued when the person signs in.")


def _limit(ctx: Context, key: str, rate: float, burst: int) -> None:
    wait = ctx.limiter.take(key, rate, burst)
    if wait > 0:
        retry = retry_after(wait)
        raise ApiError(429, "rate_limited", f"too many requests; retry after {retry} s",
                       headers={"Retry-After": str(retry)})


# The dependencies below take the request and read the context from it rather than depending on
# ``Ctx``: each nested dependency costs FastAPI a resolution step on every request.

AUTH_FAILURE_BURST = 20


def _before_authentication(ctx: Context, request: Request) -> str:
    """An address that failed to authenticate too often is refused before its credentials are checked."""
    address = address_of(request.scope)
    wait = ctx.failures.wait(address)
    if wait > 0:
        retry = retry_after(wait)
        raise ApiError(429, "rate_limited", f"too many failed authentications; retry after {retry} s",
                       headers={"Retry-After": str(retry)})
    return address


def _failed(ctx: Context, address: str, message: str, scheme: str) -> ApiError:
    ctx.failures.failed(address)
    return ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": scheme})


async def require_client(request: Request, key: Annotated[str | None, Security(client_key)] = None) -> Client:
    ctx: Context = request.app.state.ctx
    address = _before_authentication(ctx, request)
    if not key:
        raise _failed(ctx, address, "an API key is required (X-API-Key)", "ApiKey")
    client = authenticate_client(ctx.store, key)
    if client is None:
        raise _failed(ctx, address, "the API key is unknown or revoked", "ApiKey")
    _limit(ctx, f"client:{client.client_id}", client.rate_per_second, client.burst)
    return client


async def optional_client(request: Request,
                          key: Annotated[str | None, Security(client_key)] = None) -> Client | None:
    if key:
        return await require_client(request, key)
    await anonymous(request)
    return None


async def require_resident(request: Request,
                           cred: Annotated[HTTPAuthorizationCredentials | None, Security(resident_token)] = None
                           ) -> Resident:
    ctx: Context = request.app.state.ctx
    address = _before_authentication(ctx, request)
    if cred is None or not cred.credentials:
        raise _failed(ctx, address, "a resident credential is required (Authorization: Bearer)", "Bearer")
    resident = authenticate_resident(ctx.store, cred.credentials)
    if resident is None:
        raise _failed(ctx, address, "the resident credential is unknown, expired or revoked", "Bearer")
    rate = ctx.settings.api_anonymous_rate_per_second
    _limit(ctx, f"resident:{resident.person_id}", rate, int(rate * 2))
    return resident


async def anonymous(request: Request) -> None:
    ctx: Context = request.app.state.ctx
    rate = ctx.settings.api_anonymous_rate_per_second
    _limit(ctx, f"anon:{address_of(request.scope)}", rate, int(rate * 2))


async def served(request: Request) -> Served:
    current = request.app.state.ctx.watcher.current
    if current is None:
        raise ApiError(503, "no_release", "no build of the marts has been released yet",
                       headers={"Retry-After": "30"})
    return current


ClientDep = Annotated[Client, Depends(require_client)]
OptionalClientDep = Annotated[Client | None, Depends(optional_client)]
ResidentDep = Annotated[Resident, Depends(require_resident)]
ServedDep = Annotated[Served, Depends(served)]
Anonymous = Depends(anonymous)
