"""Commands of the consented-data API: serve it, its clients, residents' credentials, the access log."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from cli._common import fail, positive_number
from core.settings import Settings, get_settings

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
    # the request log prints whatever the terminal's level (it is the server's record of what it answered; the
    # terminal's handler shows only warnings without -v)
    access = logging.getLogger("onesource.api.access")
    access.setLevel(logging.INFO)
    if not any(getattr(h, "onesource_request_log", False) for h in access.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.onesource_request_log = True  # type: ignore[attr-defined]
        access.addHandler(handler)
    access.propagate = False
    from web.server import run, server_config

    run(server_config("api.main:create_app", get_settings(), host=host, port=port, workers=workers, factory=True,
                      loop="uvloop"))


def clients_add(
    name: Annotated[str, typer.Argument(help="Name of the system or service.")],
    kind: Annotated[str, typer.Option(help="department or private.")] = "department",
    organisation: Annotated[str, typer.Option(help="Department (所管課) or company.")] = "",
    purpose: Annotated[list[str], typer.Option(help="Purpose id it may use (repeat); the ids are listed above, and "
                                                    "served at /v1/purposes.")] = [],  # noqa: B006
    rate: Annotated[float | None, typer.Option(help="Requests per second it may sustain.",
                                               parser=positive_number)] = None,
    burst: Annotated[int | None, typer.Option(help="Requests it may send at once above the rate.")] = None,
) -> None:
    from api.clients import RegistrationError, register_client

    settings = get_settings()
    with _store(settings) as store:
        try:
            client, key = register_client(store, name, kind, organisation or name, purpose,
                                          settings.api_rate_per_second if rate is None else rate,
                                          settings.api_rate_burst if burst is None else burst)
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
    hours: Annotated[float, typer.Option(help="Validity in hours (at most ONESOURCE_API_RESIDENT_CREDENTIAL_MAX_"
                                              "HOURS).", parser=positive_number)] = 1.0,
) -> None:
    """Issue a resident credential for one person (stands in for the マイナンバーカード sign-in): only for a
    person of the newest release who is a resident or otherwise entitled (moved out, 住登外)."""
    import datetime as dt

    from api.clients import RegistrationError, issue_resident_credential
    from api.served import person_status
    from core import lake

    if not re.fullmatch(r"P[0-9]{9}", person_id):
        raise fail("a person id is P followed by 9 digits", 2)
    settings = get_settings()
    con = lake.connect(settings, read_only=True)
    try:
        status = person_status(con, person_id)
    finally:
        con.close()
    with _store(settings) as store:
        try:
            _, token = issue_resident_credential(store, person_id, status, dt.timedelta(hours=hours),
                                                 dt.timedelta(hours=settings.api_resident_credential_max_hours))
        except RegistrationError as exc:
            raise fail(str(exc), 2) from None
    typer.echo(token)


@residents_app.command("revoke")
def residents_revoke(
    who: Annotated[str, typer.Argument(help="A person (P + 9 digits: all of their credentials) or one "
                                            "credential id.")],
) -> None:
    """Revoke resident credentials: they stop working on the next request."""
    from api.clients import revoke_resident_credentials

    with _store() as store:
        if re.fullmatch(r"P[0-9]{9}", who):
            n = revoke_resident_credentials(store, person_id=who)
        elif re.fullmatch(r"[a-z0-9]{12}", who):
            n = revoke_resident_credentials(store, credential_id=who)
        else:
            raise fail("name a person (P + 9 digits) or a credential id (12 characters)", 2)
    typer.echo(f"{n} credential(s) revoked")


WitnessFile = Annotated[Path | None, typer.Option("--witness", help="Also hold the store against a published "
                                                                    "witness file (open data: 122033_access_log_"
                                                                    "witness.csv).")]


@accesslog_app.command("verify")
def accesslog_verify(witness: WitnessFile = None) -> None:
    """Verify the whole chain and hold it against every witness; names the first entry that was edited,
    inserted, deleted or renumbered, or a wipe, a rollback or a rebuilt chain (exit 1)."""
    from api.accesslog import known_witnesses, load_log_key, removed_witnesses, verify
    from api.store import Store

    settings = get_settings()
    if witness is not None and not witness.is_file():
        raise fail(f"no witness file {witness}", 2)
    witnesses = known_witnesses(settings, witness.read_bytes() if witness else None)
    store = Store.from_settings(settings)  # only read: where no store exists, an empty one is verified
    try:
        if not store.holds_log():
            store.close()
            store = Store.empty()
        result = verify(store, load_log_key(settings), witnesses, removed_witnesses(settings))
    finally:
        store.close()
    if not result.ok:
        typer.echo(f"access log BROKEN ({result.problem}): {result.message}", err=True)
        raise typer.Exit(1)
    typer.echo(f"access log OK: {result.message}")


@accesslog_app.command("checkpoint")
def accesslog_checkpoint() -> None:
    """Witness the chain's head: verify it, then record its count and last hash in the lake
    (``ops.witnesses``), which the next publish puts in the open data. The daily schedule runs it."""
    from api.accesslog import witness_now

    try:
        w = witness_now(get_settings())
    except ValueError as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"witnessed {w.chain} at seq {w.seq} ({w.at.isoformat(timespec='seconds')})")


def purposes_table() -> str:
    """The catalog's purposes, one a line: id, the kinds of client that may use it, its basis and its name."""
    from api.catalog import load_catalog

    purposes = load_catalog().purposes
    width = max(len(p.id) for p in purposes)
    return "\n".join(f"  {p.id:<{width}}  {'/'.join(p.recipients):<18} {p.legal_basis.kind:<8} {p.name.ja} "
                     f"({p.name.en})" for p in purposes)


CLIENTS_ADD_HELP = """Register a client bound to purposes; prints its client id and its API key once (only the key's
hash is kept). The client id is the `recipient` a resident names when granting consent to this client.

\b
Purposes (--purpose ID), the kinds of client that may use each, and its legal basis
(law: no consent needed; consent: the person must grant it to this client first):
{table}
"""


@residents_app.command("sample")
def residents_sample(
    count: Annotated[int, typer.Option(min=1, max=100, help="How many persons.")] = 5,
    with_children: Annotated[bool, typer.Option("--with-children", help="Only persons whose household has a "
                                                                        "child under 18 (for a 児童手当 prefill).")]
    = False,
) -> None:
    """Person ids to try the API with: residents of the newest release, with their town and household (no names).

    A developer's first lookup needs a person id (P + 9 digits); on the demo city, pick one here, issue them a
    credential (`onesource residents credential`) and let them grant consent."""
    from api.served import sample_residents
    from core import lake

    con = lake.connect(get_settings(), read_only=True)
    try:
        rows = sample_residents(con, count, with_children)
    finally:
        con.close()
    if rows is None:
        raise fail("no release yet: build the lake first (onesource demo, onesource build or onesource link)", 1)
    typer.echo("person_id   household  children_under_18  town")
    for r in rows:
        typer.echo(f"{r['person_id']:<11} {r['members']:>9}  {r['children']:>17}  {r['town'] or '-'}")


def register(app: typer.Typer) -> None:
    clients_app.command("add", help=CLIENTS_ADD_HELP.format(table=purposes_table()))(clients_add)
    app.command()(serve)
    app.add_typer(clients_app, name="clients")
    app.add_typer(residents_app, name="residents")
    app.add_typer(accesslog_app, name="accesslog")
