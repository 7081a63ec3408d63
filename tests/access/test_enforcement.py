"""The policy enforced by the engines, on the production layout: a PostgreSQL catalog (a cluster of the
test's own: scram-sha-256, pgaudit) and an ENCRYPTED lake. Each role authenticates, attaches the lake and
sees only its products; the raw zones do not exist for it; no catalog row it can select and no byte of any
data file holds a name or 宛名番号 of the city; a revoked grant holds from the next attach; the audit shows
what a role read, and the role cannot switch its auditing off."""

from __future__ import annotations

import datetime as dt
import glob
from pathlib import Path

import duckdb
import psycopg
import pytest
from pydantic import SecretStr

from access import enforce, policy
from core import lake
from core.settings import Settings
from tests.support import pgcluster
from tests.support.commands import run_cli
from tests.support.lakes import build_lake, platform_at
from tests.support.roles import assert_cannot_switch_off, dsn_as, known_values, lake_tables
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.pgaudit, pytest.mark.slow]


@pytest.fixture(scope="module")
def secured(tmp_path_factory, city):
    """The small simulated city built on the cluster's catalog, ENCRYPTED, with the policy applied."""
    root = tmp_path_factory.mktemp("secured")
    with pgcluster.cluster() as admin:
        with platform_at(root, catalog_dsn=admin):
            build_lake(city.landing)
        settings = Settings(home=root / "home", keys_dir_override=root / "keys", catalog_dsn=admin)
        assert settings.encrypted
        counts = enforce.apply(admin, policy.load())
        # a catalog in service has statistics (autovacuum analyzes it), and with them DuckDB's scanner fetches
        # a table's files by ctid ranges: the audit must read that form, so every test here meets it
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute("analyze")
        passwords = {r: enforce.issue_credentials(admin, r) for r in ("hoiku", "analyst", "kosodate_shien")}
        yield admin, settings, counts, passwords


def _attach(settings: Settings, dsn: str) -> duckdb.DuckDBPyConnection:
    return lake.connect(settings.model_copy(update={"catalog_dsn": SecretStr(dsn)}), read_only=True)


def _audited(admin: str, role: str, since, table: str) -> list:
    """The audit of ``role`` once it shows ``table`` read: the server's log collector writes its file a
    moment after the statement ran."""
    try:
        wait_until(lambda: any(r.table == table for r in enforce.audit(admin, role=role, since=since)), 120, 1.0,
                   f"the audit showing {role} reading {table}")
    except TimeoutError as e:  # say what the audit did hold, so that a failure in CI can be read from its log
        reads = enforce.audit(admin, role=role)
        raise AssertionError(f"{e}; since={since}; the role's audit: "
                             f"{sorted({(r.what, r.table, r.at.isoformat()) for r in reads})[:40]}; "
                             f"{_audit_log_diagnosis(admin, role)}") from e
    return enforce.audit(admin, role=role, since=since)


def _audit_log_diagnosis(admin: str, role: str) -> str:
    """What the server's log holds for ``role``: AUDIT lines per user and the role's reads of data files."""
    import collections
    import csv
    import io

    with psycopg.connect(admin) as con:
        settings = dict(con.execute("select name, setting from pg_settings where name in ('log_timezone', "
                                    "'TimeZone', 'shared_preload_libraries', 'logging_collector')").fetchall())
        files = [r[0] for r in con.execute("select name from pg_ls_logdir() order by name")]
        role_settings = con.execute("select setconfig from pg_db_role_setting s join pg_roles r on r.oid = "
                                    "s.setrole where r.rolname = %s", [role]).fetchall()
        text = enforce.server_log(con)
    per_user = collections.Counter()
    samples = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) > 13 and row[13].startswith("AUDIT"):
            per_user[row[1]] += 1
            if row[1] == role and "data_file" in row[13] and len(samples) < 3:
                samples.append(row[13][:600])
    return f"settings={settings}; files={files}; role settings={role_settings}; audit lines={dict(per_user)}; " \
           f"samples={samples}"


def test_each_role_sees_only_its_products(secured):
    admin, settings, counts, passwords = secured
    assert counts["hoiku"] == 3 and counts["analyst"] == 3
    hoiku = _attach(settings, dsn_as(admin, "hoiku", passwords["hoiku"]))
    try:
        assert lake_tables(hoiku) == {"product_hoiku.applications", "product_hoiku.applicant_households",
                                      "product_hoiku.waiting_list"}
        assert hoiku.execute("select count(*) from lake.product_hoiku.applications").fetchone()[0] > 0
        for other in ("staging.stg_juki__residents", "bronze.juki__jumin", "identity.person_membership",
                      "marts.dim_person", "product_kokuho.enrolees", "analysis.persons"):
            with pytest.raises(duckdb.CatalogException, match="does not exist"):
                hoiku.execute(f"select * from lake.{other}")
    finally:
        hoiku.close()
    analyst = _attach(settings, dsn_as(admin, "analyst", passwords["analyst"]))
    try:
        assert lake_tables(analyst) == {"analysis.persons", "analysis.households", "marts.mart_dx_kpi_monthly"}
    finally:
        analyst.close()


def test_roles_authenticate_and_a_role_without_credentials_cannot_log_in(secured):
    admin, _settings, _counts, passwords = secured
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn_as(admin, "hoiku", "not-the-password")).close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn_as(admin, "kokuho", "anything")).close()  # no credentials issued: no login
    psycopg.connect(dsn_as(admin, "hoiku", passwords["hoiku"])).close()


def test_no_catalog_row_and_no_data_file_holds_a_name(secured):
    admin, settings, _counts, passwords = secured
    con = lake.connect(settings, read_only=True)
    try:
        known = known_values(con)
    finally:
        con.close()
    assert len(known) > 20
    con = lake.connect(settings, read_only=True)
    try:  # what 保育課 may see: the names in its own products
        own = {v for (v,) in con.execute(
            "select child_name from lake.product_hoiku.applications union select parent_name from "
            "lake.product_hoiku.applications union select name from lake.product_hoiku.applicant_households union "
            "select name_kana from lake.product_hoiku.applicant_households").fetchall() if v}
    finally:
        con.close()
    assert own and known - own
    # every catalog row the role can select, statistics (min/max) included: the analysts see no name at all,
    # 保育課 none but those of its own products
    for role, allowed in (("analyst", set()), ("hoiku", own)):
        with psycopg.connect(dsn_as(admin, role, passwords[role])) as pg:
            tables = [t for (t,) in pg.execute("select table_name from information_schema.tables "
                                               "where table_schema = 'ducklake'")]
            seen = []
            for t in tables:
                try:
                    rows = pg.execute(f'select * from ducklake."{t}"').fetchall()
                except psycopg.errors.InsufficientPrivilege:
                    pg.rollback()
                    continue
                seen.append(t)
                text = " ".join(str(v) for row in rows for v in row)
                assert not [k for k in known - allowed if k in text], (role, t)
            assert "ducklake_file_column_stats" in seen and "ducklake_data_file" in seen
            schemas = {r[0] for r in pg.execute(
                "select distinct s.schema_name from ducklake.ducklake_file_column_stats c join ducklake.ducklake_table t "
                "using (table_id) join ducklake.ducklake_schema s using (schema_id)")}
            assert schemas == ({"product_hoiku"} if role == "hoiku" else {"analysis", "marts"}), (role, schemas)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute("select * from onesource_access.grants")
    # the data files: ciphertext, without a readable name, and unreadable without the catalog's key
    files = glob.glob(str(Path(settings.data_path_url) / "**" / "*.parquet"), recursive=True)
    assert len(files) > 20
    encoded = [k.encode() for k in known]
    for f in files:
        data = Path(f).read_bytes()
        assert not [k for k in encoded if k in data], f
    raw = duckdb.connect()
    with pytest.raises(duckdb.Error, match="encrypt"):
        raw.execute(f"select * from read_parquet('{files[0]}')").fetchall()


def test_a_revoked_grant_holds_from_the_next_attach(secured):
    admin, settings, _counts, passwords = secured
    doc = policy.read_doc()
    doc["roles"]["hoiku"]["grants"] = [g for g in doc["roles"]["hoiku"]["grants"]
                                       if g["product"] != "product_hoiku.applicant_households"]
    narrowed = policy.parse(doc)
    try:
        enforce.apply(admin, narrowed)
        con = _attach(settings, dsn_as(admin, "hoiku", passwords["hoiku"]))
        try:
            assert "product_hoiku.applicant_households" not in lake_tables(con)
            assert "product_hoiku.applications" in lake_tables(con)
        finally:
            con.close()
    finally:
        enforce.apply(admin, policy.load())


def _file_keys(admin: str) -> dict[str, str]:
    """Every data and delete file the catalog knows, by file name, with its key."""
    with psycopg.connect(admin) as pg:
        return dict(pg.execute("select path, encryption_key from ducklake.ducklake_data_file union all "
                               "select path, encryption_key from ducklake.ducklake_delete_file").fetchall())


def test_a_product_reencrypted_after_a_revocation_leaves_kept_keys_nothing_to_open(secured):
    import os

    admin, settings, _counts, passwords = secured
    product, neighbour = "product_hoiku.applications", "product_hoiku.waiting_list"
    # what 保育課 could keep while it was granted: every key and file name of the product it could select
    with psycopg.connect(dsn_as(admin, "hoiku", passwords["hoiku"])) as pg:
        kept = dict(pg.execute("select f.path, f.encryption_key from ducklake.ducklake_data_file f join "
                               "ducklake.ducklake_table t using (table_id) where t.table_name = 'applications'"
                               ).fetchall())
    assert kept
    con = lake.connect(settings, read_only=True)
    try:
        before = con.execute(f"select * from lake.{product} order by all").fetchall()
        snapshot = con.execute("select id from lake.current_snapshot()").fetchone()[0]
    finally:
        con.close()
    assert before
    env = {**os.environ, "ONESOURCE_HOME": str(settings.home), "ONESOURCE_KEYS_DIR": str(settings.keys_dir),
           "ONESOURCE_CATALOG_DSN": admin}
    refused = run_cli("access", "reencrypt", "staging.stg_juki__residents", env=env)
    assert refused.returncode == 2 and "not a product of the policy" in refused.stderr
    doc = policy.read_doc()
    doc["roles"]["hoiku"]["grants"] = [g for g in doc["roles"]["hoiku"]["grants"] if g["product"] != product]
    try:
        enforce.apply(admin, policy.parse(doc))
        done = run_cli("access", "reencrypt", product, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"{len(before)} rows under new keys" in done.stdout
    finally:
        enforce.apply(admin, policy.load())
    on_disk = {Path(f).name for f in glob.glob(str(Path(settings.data_path_url) / "**" / "*.parquet"),
                                               recursive=True)}
    keys = _file_keys(admin)
    assert not on_disk & set(kept), "a file the role knew is still in the storage"
    assert not {keys[f] for f in on_disk if f in keys} & set(kept.values()), "a kept key opens a stored file"
    con = lake.connect(settings, read_only=True)  # a new session: no file of the old one is cached
    try:
        assert con.execute(f"select * from lake.{product} order by all").fetchall() == before
        with pytest.raises(duckdb.IOException):  # its past is gone, and says so
            con.execute(f"select count(*) from lake.{product} at (version => {snapshot})").fetchall()
        assert con.execute(f"select count(*) from lake.{neighbour} at (version => {snapshot})").fetchone()[0] > 0
    finally:
        con.close()


def test_the_api_serves_a_release_as_its_own_service_role(secured):
    from api.served import QUERIES, ReleaseWatcher

    admin, settings, _counts, _passwords = secured
    password = enforce.issue_credentials(admin, "api_service")
    as_api = settings.model_copy(update={"api_catalog_dsn": SecretStr(dsn_as(admin, "api_service", password))})
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    watcher = ReleaseWatcher(as_api)
    try:
        assert watcher.refresh()
        assert watcher.current.persons.count > 0
        assert lake_tables(watcher._con) == {"ops.releases"} | {f"marts.{t}" for t in QUERIES}
        with pytest.raises(duckdb.CatalogException, match="does not exist"):
            watcher._con.execute("select * from lake.staging.stg_juki__residents")
    finally:
        watcher.stop() if hasattr(watcher, "stop") else None
        watcher._drop()
    read = {r.table for r in _audited(admin, "api_service", since, "marts.dim_person") if r.what == "read"}
    assert read <= {"ops.releases"} | {f"marts.{t}" for t in QUERIES}, read


def test_the_audit_shows_what_a_role_read_and_the_role_cannot_switch_it_off(secured):
    admin, settings, _counts, passwords = secured
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    con = _attach(settings, dsn_as(admin, "analyst", passwords["analyst"]))
    try:
        assert con.execute("select count(*) from lake.analysis.persons").fetchone()[0] > 0
    finally:
        con.close()
    reads = _audited(admin, "analyst", since, "analysis.persons")
    assert any(r.what == "attach" for r in reads)
    tables = {r.table for r in reads if r.what == "read"}
    assert "analysis.persons" in tables and "analysis.households" not in tables
    with psycopg.connect(dsn_as(admin, "analyst", passwords["analyst"])) as pg:
        assert_cannot_switch_off(pg, "analyst", "pgaudit.log", "read")


def test_the_command_line_applies_issues_connects_and_audits(secured, tmp_path):
    import os

    admin, settings, _counts, passwords = secured
    env = {**os.environ, "ONESOURCE_HOME": str(settings.home), "ONESOURCE_KEYS_DIR": str(settings.keys_dir),
           "ONESOURCE_CATALOG_DSN": admin}
    applied = run_cli("access", "apply", env=env)
    assert applied.returncode == 0, applied.stderr[-2000:]
    assert "hoiku: 3 table(s)" in applied.stdout
    issued = run_cli("access", "credentials", "issue", "kokuho", env=env)
    password = issued.stdout.strip()
    assert issued.returncode == 0 and len(password) >= 24
    how = run_cli("access", "connect", "kokuho", env=env)
    assert how.returncode == 0 and "user=kokuho" in how.stdout and "READ_ONLY" in how.stdout
    assert password not in how.stdout and admin.split(":")[2].split("@")[0] not in how.stdout
    con = _attach(settings, dsn_as(admin, "kokuho", password))
    try:
        assert lake_tables(con) == {"product_kokuho.enrolees"}
        con.execute("select * from lake.product_kokuho.enrolees").fetchall()
    finally:
        con.close()
    _audited(admin, "kokuho", None, "product_kokuho.enrolees")  # the server's log collector writes a moment later
    report = run_cli("access", "audit", "--role", "kokuho", env=env)
    assert report.returncode == 0 and "product_kokuho.enrolees" in report.stdout and "attach" in report.stdout
    revoked = run_cli("access", "credentials", "revoke", "kokuho", env=env)
    assert revoked.returncode == 0
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn_as(admin, "kokuho", password)).close()
    # the SQLite catalog (an explicit single-operator choice) says plainly that it enforces nothing
    sqlite = run_cli("access", "apply", env={**env, "ONESOURCE_CATALOG_DSN": "", "ONESOURCE_CATALOG": "sqlite"})
    assert sqlite.returncode == 2 and "single-operator mode" in sqlite.stderr


def test_the_notebooks_run_as_their_roles(secured, tmp_path, monkeypatch):
    """Every notebook, run with the credentials of the role it names (the analysts' or a department's): it
    needs nothing its role lacks, and the audit shows it read only that role's tables."""
    import nbformat
    from nbclient import NotebookClient

    from core.settings import REPO_ROOT

    admin, settings, _counts, passwords = secured
    monkeypatch.setenv("ONESOURCE_HOME", str(settings.home))
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(settings.keys_dir))
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    roles = set()
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        role = nb.metadata.get("onesource", {}).get("role", "analyst")
        roles.add(role)
        monkeypatch.setenv("ONESOURCE_CATALOG_DSN", dsn_as(admin, role, passwords[role]))
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, (path.name, errors[:1])
    assert roles == {"analyst", "kosodate_shien"}
    read = {r.table for r in _audited(admin, "analyst", since, "analysis.persons") if r.what == "read"}
    assert read and read <= {"analysis.persons", "analysis.households"}, read
    outreach = "product_kosodate_shien.child_allowance_outreach"
    read = {r.table for r in _audited(admin, "kosodate_shien", since, outreach) if r.what == "read"}
    assert read == {outreach}, read
