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


def _admin_dsn() -> str:
    from onesource.core.settings import get_settings

    settings = get_settings()
    if settings.catalog_dsn is None:
        raise fail("the embedded default (SQLite catalog) is the single-operator mode: whoever can open the lake's "
                   "files is the data team, and no role can be enforced. Set ONESOURCE_CATALOG_DSN to the "
                   "PostgreSQL catalog (the production layout) as its owner.", 2)
    return settings.catalog_dsn.get_secret_value()


@access_app.command("apply")
def apply_policy() -> None:
    """Enforce the policy on the PostgreSQL catalog: a login role per audience, row-level security on the
    lake's metadata, the grants, pgaudit on every role. Run it after each reviewed change of the policy."""
    from onesource.access import enforce, policy
    from onesource.core.settings import get_settings

    try:
        counts = enforce.apply(_admin_dsn(), policy.load(), get_settings().catalog_schema)
    except (enforce.EnforcementError, policy.PolicyError) as exc:
        raise fail(str(exc), 2) from None
    for role, n in counts.items():
        typer.echo(f"{role}: {n} table(s)")


@access_app.command("credentials")
def credentials(action: Annotated[str, typer.Argument(help="issue, rotate or revoke.")],
                role: Annotated[str, typer.Argument(help="The role (see `onesource access show`).")]) -> None:
    """Issue or rotate a role's password (printed once, stored nowhere: hand it over through the city's secret
    store), or revoke it (no more logins; open sessions are ended)."""
    from onesource.access import enforce, policy

    if action not in ("issue", "rotate", "revoke"):
        raise fail(f"unknown action {action!r}: issue, rotate or revoke", 2)
    try:
        if policy.load().role(role).kind not in enforce.LAKE_ROLE_KINDS:
            raise fail(f"role {role} does not log in to the lake", 2)
        if action == "revoke":
            ended = enforce.revoke_credentials(_admin_dsn(), role)
            typer.echo(f"{role}: logins revoked, {ended} session(s) ended")
        else:
            typer.echo(enforce.issue_credentials(_admin_dsn(), role))
    except (enforce.EnforcementError, policy.PolicyError) as exc:
        raise fail(str(exc), 2) from None


@access_app.command("connect")
def connect(role: Annotated[str, typer.Argument(help="The role to connect as.")]) -> None:
    """Print how a role attaches the lake: DuckDB's CLI and Python, read-only, its password from PGPASSWORD."""
    from urllib.parse import urlsplit

    from onesource.access import enforce, policy
    from onesource.core import lake
    from onesource.core.settings import get_settings

    try:
        if policy.load().role(role).kind not in enforce.LAKE_ROLE_KINDS:
            raise fail(f"role {role} does not attach the lake (the data team uses the platform's own DSN; the "
                       "public reads the published files)", 2)
    except policy.PolicyError as exc:
        raise fail(str(exc), 2) from None
    settings = get_settings()
    p = urlsplit(_admin_dsn())
    target = f"host={p.hostname} port={p.port or 5432} dbname={p.path.lstrip('/')} user={role}"
    ext = settings.duckdb_extension_dir
    attach = (f"ATTACH 'ducklake:postgres:{target}' AS {lake.LAKE_ALIAS} (READ_ONLY, METADATA_SCHEMA "
              f"'{settings.catalog_schema}', DATA_PATH '{settings.data_path_url}');")
    lines = [
        f"# {role}: the password comes from PGPASSWORD (or ~/.pgpass), never from this text",
        f"export PGPASSWORD='<the password from `onesource access credentials issue {role}`>'",
        "",
        "# DuckDB CLI",
        f"duckdb -cmd \"SET extension_directory='{ext}'; SET autoinstall_known_extensions=false; "
        f"LOAD httpfs; LOAD ducklake; {attach}\"",
        "",
        f"# Python (a notebook: ONESOURCE_CATALOG_DSN=postgresql://{role}@{p.hostname}:{p.port or 5432}{p.path} "
        "and onesource.core.lake.connect(read_only=True))",
        "import duckdb",
        f"con = duckdb.connect(config={{'extension_directory': '{ext}', 'autoinstall_known_extensions': False}})",
        "con.execute(\"LOAD httpfs\")",
        f"con.execute(\"{attach}\")",
    ]
    typer.echo("\n".join(lines))


@access_app.command("audit")
def audit(role: Annotated[str | None, typer.Option(help="Only this role.")] = None,
          since: Annotated[str | None, typer.Option(help="Only after this time (ISO 8601; UTC without offset).")]
          = None) -> None:
    """Every attach and every table a role opened, as the database recorded it (pgaudit)."""
    import datetime as dt

    from onesource.access import enforce

    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError:
            raise fail(f"--since {since!r} is not an ISO 8601 time", 2) from None
        start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    for r in enforce.audit(_admin_dsn(), role=role, since=start):
        typer.echo(f"{r.at.isoformat(timespec='seconds')}  {r.role:<12} {r.what:<7} {r.table or ''}")


@access_app.command("reencrypt")
def reencrypt(products: Annotated[list[str], typer.Argument(help="Products as schema.table (granted by the "
                                                                  "policy).")]) -> None:
    """After a revocation: rewrite each product under new keys and delete its past files from the storage, so
    that keys a revoked role kept open no file that still exists. The product's time travel before this
    point is given up (it fails loudly); every other table keeps its history. Run it as the data team
    between refreshes."""
    from onesource.access import policy
    from onesource.access.reencrypt import ReencryptError
    from onesource.access.reencrypt import reencrypt as rekey
    from onesource.core import lake
    from onesource.core.settings import get_settings

    _admin_dsn()  # the production layout only: the embedded default has no roles to revoke
    try:
        granted = {g.product for r in policy.load().roles.values() for g in r.grants if g.is_table}
    except policy.PolicyError as exc:
        raise fail(str(exc), 2) from None
    unknown = [p for p in products if p not in granted]
    if unknown:
        raise fail(f"{', '.join(unknown)}: not a product of the policy (the raw zones keep their history; "
                   "only granted products are re-encrypted)", 2)
    settings = get_settings()
    if not settings.encrypted:
        raise fail("the lake is not ENCRYPTED (ONESOURCE_ENCRYPT_DATA): there are no keys to renew", 2)
    con = lake.connect(settings)
    try:
        for product in products:
            try:
                r = rekey(con, product)
            except ReencryptError as exc:
                raise fail(str(exc), 2) from None
            typer.echo(f"{r.product}: {r.rows} rows under new keys ({r.files_written} file(s), snapshot "
                       f"{r.snapshot_id}); {r.files_removed} past file(s) deleted, {r.old_keys} old key(s) now "
                       "open nothing")
    finally:
        con.close()


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")
