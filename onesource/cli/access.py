"""``onesource access``: who may read what in the lake, and why (data_contracts/access_policy.yaml)."""

from __future__ import annotations

from typing import Annotated

import typer

from onesource.cli._common import fail

access_app = typer.Typer(help="Permission first: roles, their data products, purposes and legal bases.",
                         no_args_is_help=True)

KIND_LABELS = {"operator": "運用者 operators", "department": "所管課 department", "analyst": "分析者 analysts",
               "service": "サービス service", "public": "一般 public"}


def _columns(settings, tables: set[str]) -> dict:
    from onesource.access.classify import classify
    from onesource.core.dbt import prepare_manifest

    try:
        return classify(prepare_manifest(settings), tables)
    except RuntimeError:  # dbt could not parse: show the grants without their columns
        return {}


@access_app.command("show")
def show(role: Annotated[str | None, typer.Argument(help="One role (default: every role).")] = None,
         columns: Annotated[bool, typer.Option("--columns/--no-columns",
                                               help="Each product's columns and their classification.")] = True,
         ) -> None:
    """Print who may read what and why, in Japanese and English: each role, its products, their 利用目的 and
    legal basis, and each product column's classification (carried from the data contracts)."""
    from onesource.access.classify import LABELS
    from onesource.access.policy import PolicyError, load
    from onesource.core.settings import get_settings

    try:
        policy = load()
        roles = [policy.role(role)] if role else list(policy.roles.values())
    except PolicyError as exc:
        raise fail(str(exc), 2) from None
    settings = get_settings()
    tables = {g.product for r in roles for g in r.grants if g.is_table}
    classes = _columns(settings, tables) if columns else {}
    for r in roles:
        typer.echo(f"\n■ {r.name}: {r.title.ja} / {r.title.en}  [{KIND_LABELS[r.kind]}]")
        if r.teams:
            typer.echo(f"  所管システムの課 / owning teams in the contracts: {', '.join(r.teams)}")
        if r.zones:
            typer.echo(f"  全ゾーン / whole zones: {', '.join(r.zones)}")
            typer.echo(f"    利用目的 / purpose: {r.purpose.ja} / {r.purpose.en}")
            typer.echo(f"    根拠 / legal basis: {r.legal_basis.ja} / {r.legal_basis.en}")
        for g in r.grants:
            typer.echo(f"  - {g.product}")
            typer.echo(f"    利用目的 / purpose: {g.purpose.ja} / {g.purpose.en}")
            typer.echo(f"    根拠 / legal basis: {g.legal_basis.ja} / {g.legal_basis.en}")
            for c in classes.get(g.product, []):
                ja, en = LABELS[c.classification]
                how = f" ({c.transform})" if c.transform else ""
                typer.echo(f"      {c.column:<28} {ja} / {en}{how}")
        if not r.grants and not r.zones:
            typer.echo("  (no grants)")


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")
