"""An analyst's journey (docs/analysts.md) on the default installation: a password from the data team, then
what `onesource access connect analyst` prints. The analyst queries the analysis zone with the DuckDB CLI, is
refused the golden records and every department's products, runs the notebooks as the role (`jupyter
execute`), and opens them in JupyterLab (`jupyter-lab --no-browser`, as printed), which serves them."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.support.demo import role_way_in, under_heading
from tests.support.paths import REPO, artifact
from tests.support.servers import free_port
from tests.support.waiting import wait_until

ANALYST_TABLES = {"analysis.persons", "analysis.households", "marts.mart_dx_kpi_monthly"}




@pytest.fixture(scope="module")
def analyst(built_demo):
    """The analyst's password (from the data team) and the connection text of `access connect analyst`."""
    return role_way_in(built_demo, "analyst")


def _role_env(analyst) -> dict[str, str]:
    """The analyst's own shell after the two exports `access connect` prints: no platform setting of the data
    team's, the role's DSN, the data path, the password in PGPASSWORD."""
    password, printed = analyst
    export = under_heading(printed, "Python: the platform's own")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")}
    for assignment in shlex.split(export.removeprefix("export ")):
        name, _, value = assignment.partition("=")
        env[name] = value
    assert "user=analyst" in env["ONESOURCE_CATALOG_DSN"] and "passfile" not in env["ONESOURCE_CATALOG_DSN"]
    return {**env, "PGPASSWORD": password}


def _duckdb(analyst, sql: str) -> subprocess.CompletedProcess:
    (command,) = under_heading(analyst[1], "DuckDB CLI")
    argv = shlex.split(command)
    assert Path(argv[0]).is_file(), f"printed a client that is not installed: {argv[0]}"
    return subprocess.run([*argv, "-csv", "-c", sql], env=_role_env(analyst), capture_output=True, text=True,
                          timeout=300)


def test_an_analyst_queries_the_analysis_zone_and_nothing_else(analyst):
    listed = _duckdb(analyst, "select schema_name || '.' || table_name as t from duckdb_tables() "
                              "where database_name = 'lake'")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()[1:]) == ANALYST_TABLES
    bands = _duckdb(analyst, "select age_band, count(*) as n from analysis.persons group by all order by 1")
    assert bands.returncode == 0, bands.stderr
    rows = [line.split(",") for line in bands.stdout.split()[1:]]
    assert rows and all(int(n) >= 5 for _band, n in rows)  # every band's count covers k persons at least
    for other in ("marts.dim_person", "identity.person_membership", "product_hoiku.applications",
                  "product_kosodate_shien.child_allowance_outreach", "staging.stg_juki__residents"):
        refused = _duckdb(analyst, f"select count(*) from {other}")
        assert refused.returncode != 0 and "does not exist" in refused.stderr, (other, refused.stderr)


def _analyst_notebooks() -> list[Path]:
    return [p for p in sorted((REPO / "notebooks").glob("*.ipynb"))
            if nbformat.read(p, as_version=4).metadata.get("onesource", {}).get("role", "analyst") == "analyst"]


def test_the_notebooks_run_as_the_role(built_demo, analyst, tmp_path):
    notebooks = _analyst_notebooks()
    assert "03_aggregating_the_analysis_zone.ipynb" in {p.name for p in notebooks}
    env = {**_role_env(analyst), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    for path in notebooks:
        out = tmp_path / path.name
        ran = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "execute", str(path), "--output",
                              str(out)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert ran.returncode == 0, (path.name, ran.stderr[-3000:])
        nb = nbformat.read(out, as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, (path.name, errors[:1])
    # what the notebooks read, as the server recorded it: the analysis zone only
    def reads() -> set[str]:
        report = built_demo.run("access", "audit", "--role", "analyst", timeout=300).stdout
        return {line.split()[-1] for line in report.splitlines() if " read " in line}

    wait_until(lambda: "analysis.persons" in reads(), 120, 1.0, "the audit showing the notebooks' reads")
    assert reads() <= {"analysis.persons", "analysis.households", "marts.mart_dx_kpi_monthly"}


def test_jupyterlab_starts_and_serves_the_notebooks(analyst, tmp_path):
    command = under_heading(analyst[1], "JupyterLab")[0]
    argv = shlex.split(command)
    assert Path(argv[0]).is_file(), f"printed a client that is not installed: {argv[0]}"
    port, token = free_port(), "journey-token"
    env = {**_role_env(analyst), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    log = artifact("jupyterlab.log")
    with open(log, "wb") as out:
        lab = subprocess.Popen([*argv, f"--port={port}", "--ServerApp.ip=127.0.0.1",
                                f"--IdentityProvider.token={token}"], env=env, cwd=tmp_path, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"{base}{path}", timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""
        except OSError:
            return 0, b""

    try:
        wait_until(lambda: get(f"/api/status?token={token}")[0] == 200, 120, 0.5, "JupyterLab answering")
        status, page = get(f"/lab?token={token}")
        assert status == 200 and b"JupyterLab" in page
        status, body = get(f"/api/contents/03_aggregating_the_analysis_zone.ipynb?token={token}")
        assert status == 200 and "generalization_level" in body.decode()  # the notebook, as the lab serves it
        assert get("/api/contents")[0] in (401, 403)  # no token, no notebooks
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(timeout=30)
