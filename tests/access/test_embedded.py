"""The policy on the platform's own PostgreSQL server (the default catalog): roles, row-level security and the
audit of reads hold on one machine without pgaudit, through the server's statement log that only its
superuser can change; the log holds no value a role typed and none the data team wrote. An external server
that lacks what the policy needs is told so in one message, every missing piece named, never a traceback."""

from __future__ import annotations

import glob
import os
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest
from pydantic import SecretStr

from access import enforce, policy
from core import catalog_server, lake
from core.settings import get_settings
from tests.support.commands import run_cli
from tests.support.roles import assert_cannot_switch_off
from tests.support.waiting import wait_until

NAME = "市川花子"  # a value the data team writes into the lake: never in the server's log
TYPED = "123456789018"  # a 12-digit number passing the 個人番号 check digit, typed by a role into a query


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A small lake on the default catalog: a department's products, the golden records, the analysis zone."""
    root = tmp_path_factory.mktemp("embedded-access")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")}
    env |= {"ONESOURCE_HOME": str(root / "home"), "ONESOURCE_KEYS_DIR": str(root / "keys")}
    with pytest.MonkeyPatch.context() as mp:
        for k in [k for k in os.environ if k.startswith("ONESOURCE_")]:
            mp.delenv(k)
        for k, v in env.items():
            if k.startswith("ONESOURCE_"):
                mp.setenv(k, v)
        settings = get_settings()
        assert settings.catalog_embedded and settings.encrypted
        try:
            con = lake.connect(settings)
            for schema in ("product_hoiku", "analysis"):
                con.execute(f"create schema if not exists lake.{schema}")
            con.execute(f"create table lake.product_hoiku.applications as select range as n, '{NAME}' as child_name "
                        "from range(50)")
            con.execute("create table lake.product_hoiku.waiting_list as select range as n from range(5)")
            con.execute(f"create table lake.marts.dim_person as select range as n, '{NAME}' as name from range(50)")
            con.execute("create table lake.analysis.persons as select range as n, '0-19歳' as age_band from range(50)")
            con.close()
            yield settings, env
        finally:
            catalog_server.stop_all_under(root)


def _as(settings, role: str):
    dsn = settings.catalog_dsn.get_secret_value().split(" passfile=")[0].replace("user=onesource", f"user={role}")
    return settings.model_copy(update={"catalog_dsn": SecretStr(dsn)}), dsn


def test_check_says_the_statement_log_audits_reads(platform):
    settings, env = platform
    check = run_cli("access", "check", env=env)
    assert check.returncode == 0, check.stderr
    assert "statement log" in check.stdout and "encrypted files:  yes" in check.stdout


def test_a_role_sees_its_products_only_and_its_reads_are_logged(platform, monkeypatch):
    settings, env = platform
    issued = run_cli("access", "credentials", "issue", "hoiku", env=env)  # applies the policy on this server
    assert issued.returncode == 0, issued.stderr
    monkeypatch.setenv("PGPASSWORD", issued.stdout.strip())
    role, dsn = _as(settings, "hoiku")
    con = lake.connect(role, read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables() "
                                                       "where database_name = 'lake'").fetchall()}
        assert tables == {"product_hoiku.applications", "product_hoiku.waiting_list"}
        assert con.execute(f"select count(*) from lake.product_hoiku.applications where child_name <> '{TYPED}'"
                           ).fetchone()[0] == 50
        for other in ("marts.dim_person", "analysis.persons"):
            with pytest.raises(duckdb.CatalogException, match="does not exist"):
                con.execute(f"select * from lake.{other}")
    finally:
        con.close()
    # the role cannot switch its statement log off, for the session or for itself
    with psycopg.connect(dsn) as pg:
        assert pg.execute("show log_statement").fetchone()[0] == "all"
        assert_cannot_switch_off(pg, "hoiku", "log_statement", "all")
    monkeypatch.delenv("PGPASSWORD")  # libpq prefers it to the data team's passfile

    def reads() -> list:
        return enforce.audit(settings.catalog_dsn.get_secret_value(), role="hoiku", statement_log_ok=True)

    wait_until(lambda: any(r.table == "product_hoiku.applications" for r in reads()), 120, 1.0, "the read logged")
    assert {r.table for r in reads() if r.what == "read"} == {"product_hoiku.applications"}
    assert any(r.what == "attach" for r in reads())
    report = run_cli("access", "audit", "--role", "hoiku", env=env)
    assert report.returncode == 0 and "product_hoiku.applications" in report.stdout
    text = "".join(Path(f).read_text(errors="replace")
                   for f in glob.glob(str(settings.lake_dir / "catalog" / "log" / "*")))
    assert "hoiku" in text and TYPED not in text and NAME not in text


def test_connect_prints_only_installed_clients(platform):
    import shutil
    import sys

    _settings, env = platform
    how = run_cli("access", "connect", "analyst", env=env)
    assert how.returncode == 0, how.stderr
    assert "user=analyst" in how.stdout and "READ_ONLY" in how.stdout and "passfile" not in how.stdout
    assert "# Python" in how.stdout
    installed = shutil.which("duckdb", path=os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]]))
    assert ("# DuckDB CLI" in how.stdout) == (installed is not None)
    if installed:
        assert f"{installed} -cmd" in how.stdout  # the very binary, by its path


@pytest.fixture
def not_a_superuser(pg_database):
    """A login without superuser rights on the machine's PostgreSQL (which has no pgaudit and no csvlog)."""
    name = f"onesource_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_database, autocommit=True) as admin:
        admin.execute(f'create role "{name}" login')
    try:
        yield pg_database.replace("postgres@", f"{name}@")
    finally:
        with psycopg.connect(pg_database, autocommit=True) as admin:
            admin.execute(f'drop role if exists "{name}"')


@pytest.mark.postgres
def test_an_external_server_is_told_every_missing_requirement_at_once(not_a_superuser, tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")},
           "ONESOURCE_HOME": str(tmp_path / "home"), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys"),
           "ONESOURCE_CATALOG_DSN": not_a_superuser}
    ready = enforce.check(not_a_superuser)
    if ready.audit == enforce.PGAUDIT:
        pytest.skip("this server preloads pgaudit")
    assert not ready.superuser and ready.audit is None
    assert any("a superuser" in m for m in ready.missing) and any("pgaudit" in m for m in ready.missing)
    for args in (("access", "check"), ("access", "apply"), ("access", "audit")):
        told = run_cli(*args, env=env)
        assert told.returncode == 2, (args, told.stdout, told.stderr)
        assert "Traceback" not in told.stderr and "lacks what the access policy needs" in told.stderr
        for missing in ready.missing:  # every one, in one message
            assert missing in told.stderr, (args, missing)
    gone = run_cli("access", "check", env={**env, "ONESOURCE_CATALOG_DSN": "postgresql://nobody@127.0.0.1:9/x"})
    assert gone.returncode == 2 and "cannot reach the catalog's server" in gone.stderr
    assert "Traceback" not in gone.stderr


def test_policy_grants_are_by_name(platform):
    """Products not built yet are granted by name: they appear to the role once the lake has them."""
    settings, _env = platform
    counts = enforce.apply(settings.catalog_dsn.get_secret_value(), policy.load(), statement_log_ok=True)
    assert counts["hoiku"] == 3 and counts["analyst"] == 3
