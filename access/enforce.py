"""The access policy enforced by PostgreSQL, on the DuckLake catalog of the production layout.

A role reads the lake by attaching its catalog READ_ONLY as its own PostgreSQL login. Row-level security
on DuckLake's metadata tables shows it only the schemas, tables, columns, statistics and data files
(with their encryption keys) of the products the policy grants it: every other table "does not exist" for
it, and the data files of those tables are ciphertext it holds no key for (the lake is ENCRYPTED). Tables
that may hold values of tables it cannot read (tags, the snapshot change log, files awaiting deletion,
inlined data) are closed to it. The grants live in ``onesource_access.grants``, written from the policy
file by :func:`apply`. Every read of a role is logged, and only a superuser can change that: with pgaudit
where the server preloads it (``pgaudit.log = 'read'`` on each role), otherwise (the embedded server, whose
wheel has no pgaudit) with the server's own statement log (``log_statement = 'all'`` on each role, every
connection logged). Either way the catalog rows and file keys a role fetched are the record of what it read
(:func:`audit`), in the server's csvlog. :func:`check` says which of the two is active and names whatever
the server lacks. The data team is the catalog's owner and reads everything; its own statements (which
write the lake's statistics, values included) are not logged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql

from access.policy import Policy

ACCESS_SCHEMA = "onesource_access"
BY_TABLE = ("ducklake_table", "ducklake_column", "ducklake_data_file", "ducklake_delete_file",
            "ducklake_file_column_stats", "ducklake_table_column_stats", "ducklake_table_stats",
            "ducklake_file_partition_value", "ducklake_file_variant_stats", "ducklake_partition_info",
            "ducklake_partition_column", "ducklake_column_mapping", "ducklake_sort_info", "ducklake_sort_expression",
            "ducklake_inlined_data_tables", "ducklake_column_tag")
BY_SCHEMA = ("ducklake_schema", "ducklake_view", "ducklake_macro")
WHOLE = ("ducklake_metadata", "ducklake_snapshot", "ducklake_schema_versions")  # no values of any table
# closed: they may hold values or names of tables a role cannot read
CLOSED = ("ducklake_snapshot_changes", "ducklake_files_scheduled_for_deletion", "ducklake_tag",
          "ducklake_name_mapping", "ducklake_macro_impl", "ducklake_macro_parameters")
LAKE_ROLE_KINDS = ("department", "analyst", "service")  # the public reads published files, not the lake


PGAUDIT, STATEMENT_LOG = "pgaudit", "statement log"


class EnforcementError(RuntimeError):
    """The catalog cannot be put under the policy (not a DuckLake catalog yet, no superuser, no audit log)."""


@dataclass(frozen=True)
class Readiness:
    """What the catalog's server offers the policy: who we are on it, how reads are audited, what is missing."""

    server: str  # "PostgreSQL 18.6"
    superuser: bool
    audit: str | None  # PGAUDIT, STATEMENT_LOG, or None when neither can be used
    missing: tuple[str, ...]  # every requirement not met, each a sentence that says what to do
    catalog: bool  # a DuckLake catalog in the metadata schema (the lake was built)
    applied: bool  # the policy's grants table exists (apply has run)

    @property
    def ok(self) -> bool:
        return not self.missing


def check(admin_dsn: str, metadata_schema: str = "ducklake", statement_log_ok: bool = False) -> Readiness:
    """What the server needs for the policy, checked at once: a superuser login (it creates the roles and sets
    their audit), an audit of reads that only a superuser can change (pgaudit preloaded; or, where
    ``statement_log_ok`` (the platform's own server, whose configuration it writes), the statement log) and the
    server's log in CSV under its data folder (the audit reads it with pg_read_file). Never raises for a missing
    piece: each is named in ``missing``."""
    try:
        con = psycopg.connect(admin_dsn, connect_timeout=10)
    except psycopg.OperationalError as exc:
        first = next(iter(str(exc).strip().splitlines()), "")
        raise EnforcementError(f"cannot reach the catalog's server: {first}") from None
    with con:
        setting = dict(con.execute(
            "select name, setting from pg_settings where name in ('shared_preload_libraries', 'logging_collector', "
            "'log_destination', 'log_directory', 'server_version')").fetchall())
        superuser = bool(con.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0])
        available = bool(con.execute("select count(*) from pg_available_extensions where name = 'pgaudit'"
                                     ).fetchone()[0])
        catalog = bool(con.execute("select count(*) from information_schema.tables where table_schema = %s and "
                                   "table_name = 'ducklake_table'", [metadata_schema]).fetchone()[0])
        applied = bool(con.execute("select count(*) from information_schema.tables where table_schema = %s and "
                                   "table_name = 'grants'", [ACCESS_SCHEMA]).fetchone()[0]) if superuser else False
    preloaded = "pgaudit" in [p.strip() for p in setting.get("shared_preload_libraries", "").split(",")]
    missing = []
    if not superuser:
        missing.append("a superuser: connect as the catalog's owner with superuser rights (it creates a login role "
                       "per audience and sets their audit, which only a superuser may change)")
    if preloaded and available:
        audit_kind = PGAUDIT
    elif statement_log_ok:
        audit_kind = STATEMENT_LOG
    else:
        audit_kind = None
        missing.append("pgaudit: install it on the server (Debian: postgresql-NN-pgaudit) and preload it "
                       "(shared_preload_libraries = 'pgaudit', then restart the server)"
                       + ("" if available else "; the server has no pgaudit extension")
                       + ("" if preloaded else "; shared_preload_libraries does not name it"))
    log_missing = []
    if setting.get("logging_collector") != "on":
        log_missing.append("logging_collector = on")
    if "csvlog" not in setting.get("log_destination", ""):
        log_missing.append("log_destination = 'csvlog'")
    if setting.get("log_directory", "").startswith("/"):
        log_missing.append("log_directory relative to the data folder (e.g. 'log')")
    if log_missing:
        missing.append("the server log: set " + ", ".join(log_missing) + " in postgresql.conf and restart the "
                       "server (`onesource access audit` reads the csvlog through pg_read_file)")
    version = setting.get("server_version", "?").split(" ")[0]
    return Readiness(f"PostgreSQL {version}", superuser, audit_kind, tuple(missing), catalog, applied)


def require(admin_dsn: str, metadata_schema: str = "ducklake", statement_log_ok: bool = False) -> Readiness:
    """:func:`check`, raising one :class:`EnforcementError` that names every missing requirement."""
    ready = check(admin_dsn, metadata_schema, statement_log_ok)
    if ready.missing:
        raise EnforcementError("the catalog's server lacks what the access policy needs:\n"
                               + "\n".join(f"  - {m}" for m in ready.missing))
    return ready


def _lake_roles(policy: Policy) -> list:
    return [r for r in policy.roles.values() if r.kind in LAKE_ROLE_KINDS]


def apply(admin_dsn: str, policy: Policy, metadata_schema: str = "ducklake",
          statement_log_ok: bool = False) -> dict[str, int]:
    """Create a login role per audience, open DuckLake's metadata to them row by row, and write the grants.
    Idempotent: run it after every change of the policy (and after a DuckLake upgrade). Returns the number of
    granted tables per role. ``statement_log_ok``: the server is the platform's own, whose statement log may
    stand in for pgaudit."""
    m = sql.Identifier(metadata_schema)
    ready = require(admin_dsn, metadata_schema, statement_log_ok)
    if not ready.catalog:
        raise EnforcementError(f"no DuckLake catalog in schema {metadata_schema}: build the lake first")
    with psycopg.connect(admin_dsn) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = %s", [metadata_schema])}
        if ready.audit == PGAUDIT and not con.execute(
                "select count(*) from pg_extension where extname = 'pgaudit'").fetchone()[0]:
            con.execute("create extension pgaudit")
        a = sql.Identifier(ACCESS_SCHEMA)
        con.execute(sql.SQL("create schema if not exists {}").format(a))
        con.execute(sql.SQL("create table if not exists {}.grants (role_name text not null, schema_name text not "
                            "null, table_name text not null, primary key (role_name, schema_name, table_name))")
                    .format(a))
        con.execute(sql.SQL("revoke all on schema {a} from public; revoke all on {a}.grants from public").format(a=a))
        for fn, body in (
                ("visible_table_ids", "select t.table_id from {m}.ducklake_table t join {m}.ducklake_schema s "
                                      "on s.schema_id = t.schema_id join {a}.grants g on g.schema_name = "
                                      "s.schema_name and g.table_name = t.table_name and g.role_name = session_user"),
                # and the default schema `main`, which holds the lake's functions (current_snapshot()...):
                # its tables are filtered one by one like any other
                ("visible_schema_ids", "select distinct s.schema_id from {m}.ducklake_schema s left join "
                                       "{a}.grants g on g.schema_name = s.schema_name and g.role_name = "
                                       "session_user where g.role_name is not null or s.schema_name = 'main'")):
            con.execute(sql.SQL("create or replace function {a}.{fn}() returns setof bigint language sql stable "
                                "security definer set search_path = pg_catalog, pg_temp as $$ " + body + " $$")
                        .format(a=a, fn=sql.Identifier(fn), m=m))
            con.execute(sql.SQL("revoke all on function {a}.{fn}() from public").format(a=a, fn=sql.Identifier(fn)))
        for t in sorted(tables):
            ident = sql.SQL("{}.{}").format(m, sql.Identifier(t))
            con.execute(sql.SQL("revoke all on {} from public").format(ident))
            if t not in WHOLE:  # row by row, closed, or a table this module does not know yet
                con.execute(sql.SQL("alter table {} enable row level security").format(ident))
            con.execute(sql.SQL("drop policy if exists onesource_read on {}").format(ident))
            if t in BY_TABLE:
                con.execute(sql.SQL("create policy onesource_read on {} for select using (table_id in "
                                    "(select {}.visible_table_ids()))").format(ident, a))
            elif t in BY_SCHEMA:
                con.execute(sql.SQL("create policy onesource_read on {} for select using (schema_id in "
                                    "(select {}.visible_schema_ids()))").format(ident, a))
        # a closed table is selectable (DuckLake reads it when it attaches) but shows no row: RLS, no policy
        readable = [t for t in sorted(tables) if t in BY_TABLE or t in BY_SCHEMA or t in WHOLE or t in CLOSED]
        database = con.execute("select current_database()").fetchone()[0]
        counts = {}
        con.execute(sql.SQL("delete from {}.grants").format(a))
        for role in _lake_roles(policy):
            r = sql.Identifier(role.name)
            if not con.execute("select count(*) from pg_roles where rolname = %s", [role.name]).fetchone()[0]:
                con.execute(sql.SQL("create role {} nologin").format(r))  # login once credentials are issued
            con.execute(sql.SQL("alter role {} nosuperuser nocreatedb nocreaterole noinherit nobypassrls").format(r))
            # every statement the role runs is audited; only a superuser can change these settings
            if ready.audit == PGAUDIT:
                con.execute(sql.SQL("alter role {} set pgaudit.log = 'read'").format(r))
                con.execute(sql.SQL("alter role {} set pgaudit.log_catalog = off").format(r))
            else:  # the server's statement log: the role's every statement, with its session and time
                con.execute(sql.SQL("alter role {} set log_statement = 'all'").format(r))
            con.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(r))
            con.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), r))
            con.execute(sql.SQL("grant usage on schema {}, {} to {}").format(m, a, r))
            for t in readable:
                con.execute(sql.SQL("grant select on {}.{} to {}").format(m, sql.Identifier(t), r))
            for fn in ("visible_table_ids", "visible_schema_ids"):
                con.execute(sql.SQL("grant execute on function {}.{}() to {}").format(a, sql.Identifier(fn), r))
            granted = [g.product.split(".", 1) for g in role.grants if g.is_table]
            with con.cursor() as cur:
                cur.executemany(sql.SQL("insert into {}.grants values (%s, %s, %s)").format(a),
                                [(role.name, s_, t_) for s_, t_ in granted])
            counts[role.name] = len(granted)
        con.commit()
    return counts


def issue_credentials(admin_dsn: str, role: str) -> str:
    """A new password for ``role`` (login enabled); the old one stops working. The server receives only its
    SCRAM verifier, never the password; the caller hands the password over once (it is stored nowhere)."""
    password = secrets.token_urlsafe(24)
    with psycopg.connect(admin_dsn, autocommit=True) as con:
        if not con.execute("select count(*) from pg_roles where rolname = %s", [role]).fetchone()[0]:
            raise EnforcementError(f"no role {role} in the catalog's server: run `onesource access apply` first")
        verifier = con.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
        con.execute(sql.SQL("alter role {} login password {}").format(sql.Identifier(role), sql.Literal(verifier)))
    return password


def revoke_credentials(admin_dsn: str, role: str) -> int:
    """No more logins for ``role``; its open sessions are ended. Returns how many were."""
    with psycopg.connect(admin_dsn, autocommit=True) as con:
        con.execute(sql.SQL("alter role {} nologin password null").format(sql.Identifier(role)))
        return len(con.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = %s",
                               [role]).fetchall())


@dataclass(frozen=True)
class Read:
    at: dt.datetime
    role: str
    session: str
    what: str  # "attach" or "read"
    table: str | None  # schema.table a read fetched the files (and keys) of


# the scan of a table's data files (and keys) as DuckDB's postgres scanner sends it: the table_id filter comes
# right after WHERE, or after a ctid range once the server has statistics of the table (after an ANALYZE or
# autovacuum the scanner splits scans by pages: "WHERE ctid BETWEEN '(0,0)'::tid AND ... AND table_id = ...")
_DATA_FILE = re.compile(r'ducklake_data_file"*\s+WHERE\s+(?:ctid\s+BETWEEN\s+\S+\s+AND\s+\S+\s+AND\s+)?'
                        r'"*table_id"*\s*=\s*\'?(\d+)\'?')


def audit(admin_dsn: str, role: str | None = None, since: dt.datetime | None = None,
          metadata_schema: str = "ducklake", statement_log_ok: bool = False) -> list[Read]:
    """Every attach and every table a role opened, from the server's log (csvlog: pgaudit's lines, or the
    statement log's): a role that reads a table fetches its data files' rows and keys from the catalog, and
    that fetch is logged."""
    require(admin_dsn, metadata_schema, statement_log_ok)
    with psycopg.connect(admin_dsn) as con:
        names = dict(con.execute(sql.SQL(
            "select distinct t.table_id, s.schema_name || '.' || t.table_name from {m}.ducklake_table t "
            "join {m}.ducklake_schema s on s.schema_id = t.schema_id").format(m=sql.Identifier(metadata_schema))
        ).fetchall())
        log_zone = con.execute("select current_setting('log_timezone')").fetchone()[0]
        text = server_log(con)
    return reads_in_log(text, names, log_zone, role, since)


def server_log(con: psycopg.Connection) -> str:
    """The server's CSV log, every file of it in order (needs a superuser or pg_read_server_files)."""
    files = [r[0] for r in con.execute("select name from pg_ls_logdir() where name like '%.csv' order by name")]
    return "".join(con.execute("select pg_read_file('log/' || %s)", [f]).fetchone()[0] for f in files)


def reads_in_log(text: str, names: dict[int, str], log_zone: str = "UTC", role: str | None = None,
                 since: dt.datetime | None = None) -> list[Read]:
    """The attaches and table reads in a csvlog text of the server (times in its ``log_timezone``): pgaudit's
    ``AUDIT: SESSION`` lines, or the statement log's ``statement:`` lines and ``connection authorized`` lines.
    A session is an attach; each table whose data files (and keys) it fetched is a read, once per session."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(log_zone)
    out: list[Read] = []
    seen_sessions: set[str] = set()
    seen_reads: set[tuple[str, int]] = set()
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 14:
            continue
        message = row[13]
        if message.startswith("AUDIT: SESSION"):
            parts = message.split(",", 5)  # AUDIT: SESSION, statement, substatement, class, command, ...
            fetch = len(parts) > 3 and parts[2] == "1" and parts[3] == "READ"
        elif message.startswith("statement: "):
            fetch = True
        elif message.startswith("connection authorized: "):
            fetch = False
        else:
            continue
        user, session = row[1], row[5]
        if not user or (role and user != role):
            continue
        at = dt.datetime.strptime(row[0].rsplit(" ", 1)[0], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=zone)
        if since and at < since:
            continue
        if session not in seen_sessions:
            seen_sessions.add(session)
            out.append(Read(at, user, session, "attach", None))
        match = _DATA_FILE.search(message) if fetch else None
        if match and (session, int(match.group(1))) not in seen_reads:
            seen_reads.add((session, int(match.group(1))))
            out.append(Read(at, user, session, "read", names.get(int(match.group(1)), f"table {match.group(1)}")))
    return out
