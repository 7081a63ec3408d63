"""A department's journey (docs/departments.md): 保育課 on the default installation. The data team issues its
password (`onesource access credentials issue hoiku`); the department runs what `onesource access connect hoiku`
prints (the DuckDB CLI installed with the platform, and the platform's own Python connection), reads its three
tables, and finds every other schema "does not exist"; the data team then sees those reads in the audit."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.demo import role_way_in, under_heading
from tests.support.waiting import wait_until

HOIKU = {"product_hoiku.applications", "product_hoiku.applicant_households", "product_hoiku.waiting_list"}
OTHERS = ("staging.stg_juki__residents", "bronze.juki__jumin", "identity.person_membership", "marts.dim_person",
          "product_kokuho.enrolees", "product_shimin.residents", "analysis.persons")
# a 12-digit number that passes the 個人番号 check digit: typed into a query, it must not reach the server's log
MY_NUMBER_LIKE = "123456789018"




@pytest.fixture(scope="module")
def hoiku(built_demo):
    """What 保育課 is handed: its password from the data team, and the connection text of `access connect`."""
    return role_way_in(built_demo, "hoiku")


def _duckdb(built_demo, hoiku, sql: str, password: str | None = None) -> subprocess.CompletedProcess:
    """The DuckDB CLI command `access connect` printed, as the department runs it, with one query."""
    pw, printed = hoiku
    (command,) = under_heading(printed, "DuckDB CLI")
    argv = shlex.split(command)
    assert Path(argv[0]).is_file() and os.access(argv[0], os.X_OK), f"printed a client that is not installed: {argv[0]}"
    env = {**built_demo.env, "PGPASSWORD": password or pw}
    return subprocess.run([*argv, "-csv", "-c", sql], env=env, capture_output=True, text=True, timeout=300)


def test_the_platform_says_how_reads_are_audited(built_demo):
    check = built_demo.run("access", "check", timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "the platform's own PostgreSQL" in check.stdout and "no TCP" in check.stdout
    assert "statement log" in check.stdout or "pgaudit" in check.stdout
    assert "encrypted files:  yes" in check.stdout


def test_a_department_reads_its_own_tables_with_the_printed_cli(built_demo, hoiku):
    listed = _duckdb(built_demo, hoiku, "select schema_name || '.' || table_name as t from duckdb_tables() "
                                        "where database_name = 'lake' order by 1")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[0] == "t" and set(listed.stdout.split()[1:]) == HOIKU
    # and the first statement a DuckDB user types (DuckLake may list a lazily loaded catalog in part)
    shown = _duckdb(built_demo, hoiku, "show all tables")
    assert shown.returncode == 0, shown.stderr
    assert {f"{r.split(',')[1]}.{r.split(',')[2]}" for r in shown.stdout.splitlines()[1:]} == HOIKU, shown.stdout
    counted = _duckdb(built_demo, hoiku, "select count(*) from product_hoiku.applications")
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout.split()[-1]) > 0


@pytest.mark.parametrize("other", OTHERS)
def test_every_other_schema_does_not_exist_for_it(built_demo, hoiku, other):
    refused = _duckdb(built_demo, hoiku, f"select count(*) from {other}")
    assert refused.returncode != 0
    assert "does not exist" in refused.stderr, refused.stderr


def test_a_wrong_password_gets_nothing(built_demo, hoiku):
    refused = _duckdb(built_demo, hoiku, "select count(*) from product_hoiku.applications", password="not-it")
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr


def test_the_platforms_python_connection_as_the_role(built_demo, hoiku):
    password, printed = hoiku
    export, python = under_heading(printed, "Python: the platform's own")
    assert export.startswith("export ONESOURCE_CATALOG_DSN=") and "user=hoiku" in export
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")}  # the department's own shell
    shown = subprocess.run(["bash", "-c", f"{export}; {python}"], env={**env, "PGPASSWORD": password},
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-3000:]
    for table in HOIKU:
        assert table.split(".")[1] in shown.stdout
    assert "dim_person" not in shown.stdout and "juki__jumin" not in shown.stdout


def test_the_data_team_sees_the_departments_reads_and_the_log_holds_no_typed_number(built_demo, hoiku):
    import glob

    # a filter no statistic can answer, so the table's data files (and keys) are fetched: that fetch is the read
    typed = _duckdb(built_demo, hoiku, f"select count(distinct name) from product_hoiku.applicant_households "
                                       f"where name <> '{MY_NUMBER_LIKE}'")
    assert typed.returncode == 0, typed.stderr

    def audited() -> str:
        return built_demo.run("access", "audit", "--role", "hoiku", timeout=300).stdout

    # the server's log collector writes its file a moment after the statement ran
    wait_until(lambda: "product_hoiku.applicant_households" in audited(), 120, 1.0, "the audit showing the read")
    report = audited()
    assert "attach" in report and "product_hoiku.applications" in report
    assert not [line for line in report.splitlines() if "hoiku" not in line]  # only the role asked for
    logs = glob.glob(str(built_demo.home / "lake" / "catalog" / "log" / "*"))
    assert logs, "the server's log is where the audit reads from"
    assert not [f for f in logs if MY_NUMBER_LIKE in Path(f).read_text(errors="replace")]
