"""Commands on the one source's identities: cross-references out, reviewers' decisions in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._common import fail

export_app = typer.Typer(help="Export files for outside use.", no_args_is_help=True)
review_app = typer.Typer(help="The clerical review queue of doubtful pairs.", no_args_is_help=True)


@export_app.command("xref")
def export_xref(out: Annotated[Path, typer.Option(help="Folder for person_source_xref.csv and "
                                                     "business_source_xref.csv.")]) -> None:
    """Write the cross-reference tables (source_system, source_record_key, person_id / business_id) as CSV."""
    from core import lake
    from identity.link import export_xref as run

    con = lake.connect(read_only=True)
    try:
        counts = run(con, out)
    finally:
        con.close()
    typer.echo(", ".join(f"{k}_source_xref.csv: {v:,} rows" for k, v in counts.items()) + f" in {out}")


@review_app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="CSV: unique_id_l, unique_id_r, decision (match|no_match), "
                                              "reviewer, note.")],
    entity: Annotated[str, typer.Option(help="person or business.")] = "person",
) -> None:
    """Record reviewers' decisions; they override the model on every later linkage."""
    from core import lake
    from identity.link import import_decisions

    con = lake.connect()
    try:
        n = import_decisions(con, file, entity)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    finally:
        con.close()
    typer.echo(f"{n} decisions recorded for {entity} linkage; run `onesource link` to apply them")


def explain(entity_id: Annotated[str, typer.Argument(help="A person_id (P…) or business_id (B…).")]) -> None:
    """Why a golden record is what it is: its records (with file and line), the edges with their weights, the
    key links refused as conflicts, the reviewers' decisions, which source won each field, the id's history."""
    from core import lake
    from identity.explain import UnknownId, as_text
    from identity.explain import explain as run

    con = lake.connect(read_only=True)
    try:
        typer.echo(as_text(run(con, entity_id.strip())))
    except UnknownId as exc:
        raise fail(str(exc), 2) from None
    finally:
        con.close()


workbench_app = typer.Typer(help="The reviewer's workbench: the review queue as web pages for the data team's "
                                   "stewards.", no_args_is_help=True)
operator_app = typer.Typer(help="The workbench's operators (personal sign-ins).", no_args_is_help=True)
workbench_app.add_typer(operator_app, name="operator")


@workbench_app.command("serve")
def workbench_serve(host: Annotated[str | None, typer.Option(help="Address (default: the settings', 127.0.0.1).")]
                    = None,
                    port: Annotated[int | None, typer.Option(help="Port (default: the settings', 8765).")] = None
                    ) -> None:
    """Serve the workbench; every page asks for an operator's sign-in (refuses to start without operators)."""
    from core.settings import get_settings
    from web.server import run, server_config
    from workbench.app import REFUSALS, create_app
    from workbench.operators import operators

    settings = get_settings()
    if not operators(settings):
        raise fail("no operator yet: add one with `onesource workbench operator add NAME`", 2)
    host, port = host or settings.workbench_host, port or settings.workbench_port
    typer.echo(f"workbench on http://{host}:{port}/ (sign-in required)")
    # behind the city's proxy (ONESOURCE_API_TRUSTED_PROXIES), its X-Forwarded-For names the steward
    run(server_config(create_app(settings), settings, host=host, port=port, refusals=REFUSALS))


@operator_app.command("add")
def operator_add(name: Annotated[str, typer.Argument(help="The steward's sign-in name (lower case).")]) -> None:
    """Create or reset an operator; prints the password once (only its hash is kept)."""
    from core.settings import get_settings
    from workbench.operators import add_operator

    try:
        password = add_operator(get_settings(), name)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    typer.echo(f"operator: {name}\npassword: {password}\n(the password is shown only now)")


@operator_app.command("remove")
def operator_remove(name: Annotated[str, typer.Argument(help="The operator to remove.")]) -> None:
    """Remove an operator (their open sessions end at their next request)."""
    from core.settings import get_settings
    from workbench.operators import remove_operator

    if not remove_operator(get_settings(), name):
        raise fail(f"no operator {name}", 2)
    typer.echo(f"operator {name} removed")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
    app.add_typer(workbench_app, name="workbench")
    app.add_typer(export_app, name="export")
    app.add_typer(review_app, name="review")
