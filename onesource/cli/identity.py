"""Commands on the one source's identities: cross-references out, reviewers' decisions in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onesource.cli._common import fail

export_app = typer.Typer(help="Export files for outside use.", no_args_is_help=True)
review_app = typer.Typer(help="The clerical review queue of doubtful pairs.", no_args_is_help=True)


@export_app.command("xref")
def export_xref(out: Annotated[Path, typer.Option(help="Folder for person_source_xref.csv and "
                                                     "business_source_xref.csv.")]) -> None:
    """Write the cross-reference tables (source_system, source_record_key, person_id / business_id) as CSV."""
    from identity.run import export_xref as run
    from onesource.core import lake

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
    from identity.run import import_decisions
    from onesource.core import lake

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
    from identity.explain import UnknownId, as_text
    from identity.explain import explain as run
    from onesource.core import lake

    con = lake.connect(read_only=True)
    try:
        typer.echo(as_text(run(con, entity_id.strip())))
    except UnknownId as exc:
        raise fail(str(exc), 2) from None
    finally:
        con.close()


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
    app.add_typer(export_app, name="export")
    app.add_typer(review_app, name="review")
