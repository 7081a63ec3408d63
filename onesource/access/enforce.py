"""The access policy enforced by PostgreSQL, on the DuckLake catalog of the production layout.

A role reads the lake by attaching its catalog READ_ONLY as its own PostgreSQL login. Row-level security
on DuckLake's metadata tables shows it only the schemas, tables, columns, statistics and data files
(with their encryption keys) of the products the policy grants it: every other table "does not exist" for
it, and the data files of those tables are ciphertext it holds no key for (the lake is ENCRYPTED). Tables
that may hold values of tables it cannot read (tags, the snapshot change log, files awaiting deletion,
inlined data) are closed to it. The grants live in ``onesource_access.grants``, written from the policy
file by :func:`apply`; pgaudit logs every read of a role (``pgaudit.log = 'read'``, which only a superuser
can change), so the catalog rows and file keys a role fetched are the record of what it read
(:func:`audit`). The data team is the catalog's owner and reads everything.
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

from onesource.access.policy import Policy

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


class EnforcementError(RuntimeError):
    """The catalog cannot be put under the policy (not a DuckLake catalog yet, no superuser, no pgaudit)."""


def _lake_roles(policy: Policy) -> list:
    return [r for r in policy.roles.values() if r.kind in LAKE_ROLE_KINDS]


def apply(admin_dsn: str, policy: Policy, metadata_schema: str = "ducklake") -> dict[str, int]:
    """Create a login role per audience, open DuckLake's metadata to them row by row, and write the grants.
    Idempotent: run it after every change of the policy (and after a DuckLake upgrade). Returns the number of
    granted tables per role."""
    m = sql.Identifier(metadata_schema)
    with psycopg.connect(admin_dsn) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = %s", [metadata_schema])}
        if "ducklake_table" not in tables:
            raise EnforcementError(f"no DuckLake catalog in schema {metadata_schema}: build the lake first")
        if not con.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0]:
            raise EnforcementError("apply needs a superuser (it sets pgaudit.log on the roles)")
        if not con.execute("select count(*) from pg_extension where extname = 'pgaudit'").fetchone()[0]:
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
            con.execute(sql.SQL("alter role {} set pgaudit.log = 'read'").format(r))
            con.execute(sql.SQL("alter role {} set pgaudit.log_catalog = off").format(r))
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
          metadata_schema: str = "ducklake") -> list[Read]:
    """Every attach and every table a role opened, from the server's audit log (pgaudit, csvlog): a role
    that reads a table fetches its data files' rows and keys from the catalog, and that fetch is logged."""
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
    """The attaches and table reads in a csvlog text of the server (times in its ``log_timezone``)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(log_zone)
    out: list[Read] = []
    seen_sessions: set[str] = set()
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 14 or not row[13].startswith("AUDIT: SESSION"):
            continue
        user, session = row[1], row[5]
        if role and user != role:
            continue
        at = dt.datetime.strptime(row[0].rsplit(" ", 1)[0], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=zone)
        if since and at < since:
            continue
        if session not in seen_sessions:
            seen_sessions.add(session)
            out.append(Read(at, user, session, "attach", None))
        parts = row[13].split(",", 5)  # AUDIT: SESSION, statement, substatement, class, command, ...
        match = _DATA_FILE.search(row[13])
        if match and len(parts) > 3 and parts[2] == "1" and parts[3] == "READ":
            out.append(Read(at, user, session, "read", names.get(int(match.group(1)), f"table {match.group(1)}")))
    return out
