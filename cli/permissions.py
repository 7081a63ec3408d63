"""``onesource access``: who may read what in the lake, and why (data_contracts/access_policy.yaml)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli._common import fail

access_app = typer.Typer(help="Permission first: roles, their data products, purposes and legal bases.",
                         no_args_is_help=True)

KIND_LABELS = {"operator": "運用者 operators", "department": "所管課 department", "analyst": "分析者 analysts",
               "service": "サービス service", "public": "一般 public"}


def _columns(settings, tables: set[str]) -> dict:
    from access.classify import classify
    from core.dbt import prepare_manifest

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
    from access.classify import LABELS
    from access.policy import PolicyError, load
    from core.settings import get_settings

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
    """The catalog's owner DSN: the embedded server's (started if it is down) or the external one's. The SQLite
    catalog has no roles: exit 2 saying so."""
    from core import catalog_server, lake
    from core.settings import get_settings

    settings = get_settings()
    if settings.catalog_dsn is None:
        raise fail("the SQLite catalog (ONESOURCE_CATALOG=sqlite) is the single-operator mode: whoever can open the "
                   "lake's files is the data team, and no role can be enforced. Use the default catalog (unset "
                   "ONESOURCE_CATALOG: the platform's own PostgreSQL server) or ONESOURCE_CATALOG_DSN (an external "
                   "server, as its owner).", 2)
    try:
        lake.ensure_catalog(settings)
    except catalog_server.CatalogServerError as exc:
        raise fail(str(exc), 1) from None
    return settings.catalog_dsn.get_secret_value()


def _embedded() -> bool:
    from core.settings import get_settings

    return get_settings().catalog_embedded


def _ready(dsn: str):
    """The server's readiness for the policy (exit 2 naming every missing requirement)."""
    from access import enforce
    from core.settings import get_settings

    try:
        return enforce.require(dsn, get_settings().catalog_schema, statement_log_ok=_embedded())
    except enforce.EnforcementError as exc:
        raise fail(str(exc), 2) from None


@access_app.command("check")
def check() -> None:
    """Whether the catalog's server can enforce the policy: the catalog (embedded or external), a superuser,
    how reads are audited (pgaudit, or the server's own statement log where the server is the platform's own),
    the server log, the encrypted files, whether the policy is applied. Exit 2 naming every missing piece."""
    from access import enforce
    from core import catalog_server
    from core.settings import get_settings, mask_dsn

    dsn = _admin_dsn()
    settings = get_settings()
    try:
        ready = enforce.check(dsn, settings.catalog_schema, statement_log_ok=settings.catalog_embedded)
    except enforce.EnforcementError as exc:
        raise fail(str(exc), 2) from None
    if settings.catalog_embedded:
        st = catalog_server.status(settings.lake_dir, settings.catalog_listen)
        where = f"the platform's own {ready.server} (pid {st.pid}, socket {st.socket_dir}" + (
            f", TCP {settings.catalog_listen})" if settings.catalog_listen else ", no TCP)")
    else:
        where = f"external {ready.server} ({mask_dsn(dsn)})"
    audit_text = {enforce.PGAUDIT: "pgaudit (pgaudit.log = 'read' on each role)",
                  enforce.STATEMENT_LOG: "the server's statement log (log_statement = 'all' on each role, every "
                  "connection logged; this server has no pgaudit)", None: "none available"}[ready.audit]
    typer.echo(f"catalog:          {where}")
    typer.echo(f"superuser:        {'yes' if ready.superuser else 'no'}")
    typer.echo(f"audit of reads:   {audit_text}")
    typer.echo(f"encrypted files:  {'yes' if settings.encrypted else 'no (ONESOURCE_ENCRYPT_DATA=false)'}")
    typer.echo(f"lake built:       {'yes' if ready.catalog else 'not yet'}")
    typer.echo(f"policy applied:   {'yes' if ready.applied else 'not yet (onesource access apply)'}")
    if not settings.encrypted:
        typer.echo("warning: the data files are not encrypted: a copied Parquet file is readable", err=True)
    if ready.missing:
        raise fail("the catalog's server lacks what the access policy needs:\n"
                   + "\n".join(f"  - {m}" for m in ready.missing), 2)


def _apply(dsn: str) -> dict[str, int]:
    from access import enforce, policy
    from core.settings import get_settings

    _ready(dsn)
    try:
        return enforce.apply(dsn, policy.load(), get_settings().catalog_schema, statement_log_ok=_embedded())
    except (enforce.EnforcementError, policy.PolicyError) as exc:
        raise fail(str(exc), 2) from None


@access_app.command("apply")
def apply_policy() -> None:
    """Enforce the policy on the PostgreSQL catalog: a login role per audience, row-level security on the
    lake's metadata, the grants, the audit of every role's reads. Run it after each reviewed change of the
    policy (on the platform's own server, `credentials issue` runs it too)."""
    for role, n in _apply(_admin_dsn()).items():
        typer.echo(f"{role}: {n} table(s)")


@access_app.command("credentials")
def credentials(action: Annotated[str, typer.Argument(help="issue, rotate or revoke.")],
                role: Annotated[str, typer.Argument(help="The role (see `onesource access show`).")]) -> None:
    """Issue or rotate a role's password (printed once, stored nowhere: hand it over through the city's secret
    store), or revoke it (no more logins; open sessions are ended)."""
    import psycopg

    from access import enforce, policy

    if action not in ("issue", "rotate", "revoke"):
        raise fail(f"unknown action {action!r}: issue, rotate or revoke", 2)
    try:
        if policy.load().role(role).kind not in enforce.LAKE_ROLE_KINDS:
            raise fail(f"role {role} does not log in to the lake", 2)
        dsn = _admin_dsn()
        if action == "revoke":
            ended = enforce.revoke_credentials(dsn, role)
            typer.echo(f"{role}: logins revoked, {ended} session(s) ended")
        else:
            if _embedded():  # the platform's own server: the policy is applied with the credentials
                _apply(dsn)
            typer.echo(enforce.issue_credentials(dsn, role))
    except (enforce.EnforcementError, policy.PolicyError) as exc:
        raise fail(str(exc), 2) from None
    except psycopg.Error as exc:
        raise fail(f"the catalog's server refused: {str(exc).strip().splitlines()[0]}", 1) from None


def _clients() -> dict[str, str]:
    """The clients installed beside this command (its own environment first, then PATH), by name."""
    import shutil
    import sys
    from pathlib import Path

    here = str(Path(sys.executable).parent)
    found = {}
    for name in ("duckdb", "jupyter-lab"):
        path = shutil.which(name, path=os.pathsep.join([here, os.environ.get("PATH", "")]))
        if path:
            found[name] = path
    return found


def role_conninfo(role: str) -> str:
    """How ``role`` reaches the catalog (no password: it comes from PGPASSWORD or the role's passfile)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from core import catalog_server
    from core.settings import get_settings

    settings = get_settings()
    parts = {k: v for k, v in conninfo_to_dict(_admin_dsn()).items() if k in ("host", "port", "dbname", "hostaddr",
                                                                              "sslmode")}
    if settings.catalog_embedded and settings.catalog_listen:  # TCP asked for: the address others reach
        parts["host"], parts["port"] = catalog_server.parse_listen(settings.catalog_listen)
    parts["user"] = role
    return make_conninfo(**{k: str(v) for k, v in parts.items()})


@access_app.command("connect")
def connect(role: Annotated[str, typer.Argument(help="The role to connect as.")]) -> None:
    """Print how a role attaches the lake, read-only, with the clients installed here (Python always; the
    DuckDB CLI and JupyterLab where installed), its password from PGPASSWORD."""
    import sys

    from access import enforce, policy
    from core import lake
    from core.settings import REPO_ROOT, get_settings

    try:
        kind = policy.load().role(role).kind
        if kind not in enforce.LAKE_ROLE_KINDS:
            raise fail(f"role {role} does not attach the lake (the data team uses the platform's own DSN; the "
                       "public reads the published files)", 2)
    except policy.PolicyError as exc:
        raise fail(str(exc), 2) from None
    settings = get_settings()
    target = role_conninfo(role)
    ext = settings.duckdb_extension_dir
    attach = (f"ATTACH 'ducklake:postgres:{target}' AS {lake.LAKE_ALIAS} (READ_ONLY, METADATA_SCHEMA "
              f"'{settings.catalog_schema}', DATA_PATH '{settings.data_path_url}');")
    clients = _clients()
    env_line = f"export ONESOURCE_CATALOG_DSN=\"{target}\" ONESOURCE_DATA_PATH='{settings.data_path_url}'"
    lines = [
        f"# {role}: the password comes from PGPASSWORD (or ~/.pgpass), never from this text",
        f"export PGPASSWORD='<the password from `onesource access credentials issue {role}`>'",
    ]
    if "duckdb" in clients:
        lines += ["", "# DuckDB CLI",
                  f"{clients['duckdb']} -cmd \"SET extension_directory='{ext}'; SET autoinstall_known_extensions=false; "
                  f"LOAD httpfs; LOAD ducklake; {attach} USE {lake.LAKE_ALIAS}; "
                  f"SET VARIABLE lake_tables = ({lake.CATALOG_LOAD});\""]
    lines += ["", "# Python: the platform's own read-only connection, as this role",
              env_line,
              f"{sys.executable} -c \"from core import lake; con = lake.connect(read_only=True); "
              "print(con.sql('show all tables'))\""]
    if "jupyter-lab" in clients and kind in ("analyst", "department"):
        as_root = " --allow-root" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        lines += ["", "# JupyterLab on the notebooks, as this role (the same two exports first)",
                  f"{clients['jupyter-lab']} --no-browser{as_root} {REPO_ROOT / 'notebooks'}"]
    lines += ["", "# Python, by hand",
              "import duckdb",
              f"con = duckdb.connect(config={{'extension_directory': '{ext}', 'autoinstall_known_extensions': False}})",
              "con.execute(\"LOAD httpfs\")",
              f"con.execute(\"{attach}\")",
              f"con.execute(\"{lake.CATALOG_LOAD}\")  # before SHOW ALL TABLES: see duckdb/ducklake#1280"]
    typer.echo("\n".join(lines))


@access_app.command("audit")
def audit(role: Annotated[str | None, typer.Option(help="Only this role.")] = None,
          since: Annotated[str | None, typer.Option(help="Only after this time (ISO 8601; UTC without offset).")]
          = None) -> None:
    """Every attach and every table a role opened, as the server recorded it (pgaudit, or the statement log
    of the platform's own server: `onesource access check` says which)."""
    import datetime as dt

    from access import enforce
    from core.settings import get_settings

    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError:
            raise fail(f"--since {since!r} is not an ISO 8601 time", 2) from None
        start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    dsn = _admin_dsn()
    try:
        reads = enforce.audit(dsn, role=role, since=start, metadata_schema=get_settings().catalog_schema,
                              statement_log_ok=_embedded())
    except enforce.EnforcementError as exc:
        raise fail(str(exc), 2) from None
    for r in reads:
        typer.echo(f"{r.at.isoformat(timespec='seconds')}  {r.role:<12} {r.what:<7} {r.table or ''}")


@access_app.command("reencrypt")
def reencrypt(products: Annotated[list[str], typer.Argument(help="Products as schema.table (granted by the "
                                                                  "policy).")]) -> None:
    """After a revocation: rewrite each product under new keys and delete its past files from the storage, so
    that keys a revoked role kept open no file that still exists. The product's time travel before this
    point is given up (it fails loudly); every other table keeps its history. Run it as the data team
    between refreshes."""
    from access import policy
    from access.reencrypt import ReencryptError
    from access.reencrypt import reencrypt as rekey
    from core import lake
    from core.settings import get_settings

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


catalog_app = typer.Typer(help="The lake catalog's own PostgreSQL server under ONESOURCE_HOME (the default "
                          "catalog): it starts when a command needs it and runs until stopped.", no_args_is_help=True)


def _embedded_settings():
    from core.settings import get_settings

    settings = get_settings()
    if not settings.catalog_embedded:
        kind = "SQLite (ONESOURCE_CATALOG=sqlite)" if settings.catalog_dsn is None else \
            "an external server (ONESOURCE_CATALOG_DSN)"
        raise fail(f"this platform's catalog is {kind}, not the platform's own server", 2)
    return settings


@catalog_app.command("status")
def catalog_status() -> None:
    """Whether the catalog's server runs: its pid, data folder and socket (exit 3 when it is stopped)."""
    from core import catalog_server

    settings = _embedded_settings()
    st = catalog_server.status(settings.lake_dir, settings.catalog_listen)
    state = f"running (pid {st.pid})" if st.running else ("stopped" if st.initialized else "not created yet")
    typer.echo(f"catalog server: {state}\ndata: {st.pgdata}\nsocket: {st.socket_dir}\n"
               f"TCP: {settings.catalog_listen or 'off'}\nlog: {st.pgdata / 'log'}")
    if not st.running:
        raise typer.Exit(3)


@catalog_app.command("start")
def catalog_start() -> None:
    """Start the catalog's server (a new cluster on first use); nothing happens when it already runs."""
    from core import catalog_server, lake

    settings = _embedded_settings()
    try:
        lake.ensure_catalog(settings)
    except catalog_server.CatalogServerError as exc:
        raise fail(str(exc), 1) from None
    st = catalog_server.status(settings.lake_dir, settings.catalog_listen)
    typer.echo(f"catalog server running (pid {st.pid}, socket {st.socket_dir})")


@catalog_app.command("stop")
def catalog_stop() -> None:
    """Stop the catalog's server (fast: open sessions, a department's or a run's, are ended; committed work is
    kept). The next command that needs the lake starts it again."""
    from core import catalog_server, lake

    settings = _embedded_settings()
    try:
        stopped = lake.stop_catalog(settings)
    except catalog_server.CatalogServerError as exc:
        raise fail(str(exc), 1) from None
    typer.echo("catalog server stopped" if stopped else "catalog server was not running")


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")
    app.add_typer(catalog_app, name="catalog")
