"""Commands of the consented-data API: serve it, its clients, residents' credentials, the access log."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Annotated

import typer

from onesource.cli._common import fail
from onesource.core.settings import Settings, get_settings

clients_app = typer.Typer(help="API clients (departments and private services) and their purposes.",
                          no_args_is_help=True)
residents_app = typer.Typer(help="Resident credentials (what the portal holds once a person signed in).",
                            no_args_is_help=True)
accesslog_app = typer.Typer(help="The hash-chained access log of the API.", no_args_is_help=True)


@contextlib.contextmanager
def _store(settings: Settings | None = None) -> Iterator:
    from api.store import Store

    store = Store.from_settings(settings or get_settings())
    store.create_schema()
    try:
        yield store
    finally:
        store.close()


def serve(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8000,
          workers: Annotated[int, typer.Option(help="Worker processes (each keeps the served release in memory).")]
          = 1) -> None:
    """Run the consented-data API (OpenAPI docs at /docs) on the lake's newest release."""
    import uvicorn

    logging.getLogger("onesource.api.access").setLevel(logging.INFO)
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, access_log=False,
                log_level="info", loop="uvloop", http="httptools")


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Argument(help="Name of the system or service.")],
    kind: Annotated[str, typer.Option(help="department or private.")] = "department",
    organisation: Annotated[str, typer.Option(help="Department (所管課) or company.")] = "",
    purpose: Annotated[list[str], typer.Option(help="Purpose id it may use (repeat).")] = [],  # noqa: B006
    rate: Annotated[float | None, typer.Option(help="Requests per second it may sustain.")] = None,
    burst: Annotated[int | None, typer.Option(help="Requests it may send at once above the rate.")] = None,
) -> None:
    """Register a client bound to purposes; prints its API key once (only its hash is kept)."""
    from api.clients import RegistrationError, register_client

    settings = get_settings()
    with _store(settings) as store:
        try:
            client, key = register_client(store, name, kind, organisation or name, purpose,
                                          rate or settings.api_rate_per_second, burst or settings.api_rate_burst)
        except RegistrationError as exc:
            raise fail(str(exc), 2) from None
    typer.echo(f"client_id: {client.client_id}\napi_key:   {key}\n(the key is shown only now; keep it secret)")


@clients_app.command("revoke")
def clients_revoke(client_id: Annotated[str, typer.Argument(help="The client to revoke.")]) -> None:
    """Revoke a client: its key stops working on the next request."""
    from api.clients import revoke_client

    with _store() as store:
        found = revoke_client(store, client_id)
    if not found:
        raise fail(f"no client {client_id}")
    typer.echo(f"client {client_id} revoked")


@clients_app.command("list")
def clients_list() -> None:
    """The registered clients and their purposes."""
    from api.clients import list_clients

    with _store() as store:
        for c in list_clients(store):
            state = f"revoked {c['revoked_at']}" if c["revoked_at"] else "active"
            typer.echo(f"{c['client_id']}  {c['kind']:<10} {c['name']} ({c['organisation']})  {state}  "
                       f"purposes: {', '.join(c['purposes']) or '-'}")


@residents_app.command("credential")
def residents_credential(
    person_id: Annotated[str, typer.Argument(help="The person (P + 9 digits).")],
    hours: Annotated[float, typer.Option(help="Validity in hours.")] = 1.0,
) -> None:
    """Issue a resident credential for one person (stands in for the マイナンバーカード sign-in)."""
    import datetime as dt

    from api.clients import issue_resident_credential

    if not re.fullmatch(r"P[0-9]{9}", person_id):
        raise fail("a person id is P followed by 9 digits", 2)
    with _store() as store:
        _, token = issue_resident_credential(store, person_id, dt.timedelta(hours=hours))
    typer.echo(token)


@accesslog_app.command("verify")
def accesslog_verify() -> None:
    """Verify the whole chain; names the first entry that was edited, inserted or deleted (exit 1)."""
    from api.accesslog import load_log_key, verify

    settings = get_settings()
    with _store(settings) as store:
        result = verify(store, load_log_key(settings))
    if not result.ok:
        typer.echo(f"access log BROKEN: {result.message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"access log OK: {result.message}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(clients_app, name="clients")
    app.add_typer(residents_app, name="residents")
    app.add_typer(accesslog_app, name="accesslog")
