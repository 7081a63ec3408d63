"""The Dagster UI, really started: storage, a browser, materializing through GraphQL, a sensor at work.

Screenshots of the asset graph and of a run go to ``$ONESOURCE_ARTIFACTS/screenshots`` (default
``artifacts/screenshots`` in the repository, git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request

import dagster as dg
import pytest

from core.settings import Settings
from dagster_project import ui
from tests.support.browser import screenshot
from tests.support.commands import popen_cli
from tests.support.paths import EXAMPLES
from tests.support.servers import answers, child_group, free_port, group_members
from tests.support.waiting import wait_until


def test_instance_storage_is_sqlite_by_default(tmp_path):
    home = ui.ensure_instance(Settings(home=tmp_path / "home"))
    instance = dg.DagsterInstance.from_config(str(home))
    assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    # Dagster's SQLite shards, written through kept connections (dagster_project/internals.py)
    assert type(instance.event_log_storage).__name__ == "LocalEventLogStorage"
    assert list(instance.get_runs()) == []


@pytest.mark.postgres
def test_instance_storage_on_postgresql(tmp_path, pg_database, monkeypatch):
    """The production layout's instance: runs really execute and their events are stored (Dagster's event
    log on psycopg 3 failed every run at its first event)."""
    monkeypatch.setenv("ONESOURCE_DAGSTER_DSN", pg_database)
    settings = Settings(home=tmp_path / "home")
    assert "postgres" in (ui.ensure_instance(settings) / "dagster.yaml").read_text()
    assert pg_database.split("@")[-1] not in (tmp_path / "home" / "dagster" / "dagster.yaml").read_text()

    @dg.asset
    def probe() -> int:
        return 1

    with ui.open_instance(settings) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PooledPostgresEventLogStorage"
        assert list(instance.get_runs()) == []
        result = dg.materialize([probe], instance=instance)
        assert result.success
        assert instance.get_latest_materialization_event(dg.AssetKey("probe")) is not None
        assert [r.status for r in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]


def _gql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                 data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        out = json.loads(r.read())
    assert "errors" not in out, out
    return out["data"]


RUNS = "{ runsOrError { ... on Runs { results { runId status jobName tags { key value } } } } }"
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""


def _runs(port: int) -> list[dict]:
    return _gql(port, RUNS)["runsOrError"]["results"]


def _wait_idle(port: int, timeout: float = 600) -> list[dict]:
    loc = _gql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { "
                     "__typename ... on PythonError { message } } } } } }")
    entry = loc["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]
    assert entry["__typename"] == "RepositoryLocation", entry
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = _runs(port)
        if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
            return runs
        time.sleep(3)
    raise TimeoutError(f"runs still going: {[(r['jobName'], r['status']) for r in _runs(port)]}")


def _launch(port: int, job: str, tags: dict | None = None) -> str:
    params = {"selector": {"repositoryLocationName": ui.LOCATION, "repositoryName": "__repository__",
                           "jobName": job},
              "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}}
    out = _gql(port, LAUNCH, {"params": params})["launchRun"]
    assert out["__typename"] == "LaunchRunSuccess", out
    return out["run"]["runId"]


def _wait_run(port: int, run_id: str, timeout: float = 600) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = next((r["status"] for r in _runs(port) if r["runId"] == run_id), None)
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(3)
    raise TimeoutError(run_id)


@pytest.mark.browser
def test_ui_materializes_everything_and_the_sensor_picks_up_a_new_delivery(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(EXAMPLES / "landing", landing)
    held_back = tmp_path / "held" / "20261103"
    shutil.move(str(landing / "juki" / "20261103"), held_back)  # delivered later, while the UI runs
    settings = Settings(home=tmp_path / "home", keys_dir_override=tmp_path / "keys")
    os.environ["ONESOURCE_TRUTH_DIR"] = str(EXAMPLES / "truth")
    old_env = {k: os.environ.get(k) for k in ("ONESOURCE_HOME", "ONESOURCE_KEYS_DIR")}
    os.environ.update(ONESOURCE_HOME=str(settings.home), ONESOURCE_KEYS_DIR=str(tmp_path / "keys"))
    port = free_port()
    proc = ui.start(port, landing=landing, settings=settings, log=tmp_path / "ui.log")
    try:
        # the sensors see the closed deliveries at once; let their runs finish
        time.sleep(20)
        _wait_idle(port)
        # materialize all assets through the GraphQL endpoint: every delivery day and everything downstream
        refresh = _launch(port, "daily_refresh", {"dagster/asset_partition_range_start": "2026-11-01",
                                                  "dagster/asset_partition_range_end": "2026-11-03"})
        assert _wait_run(port, refresh) == "SUCCESS"
        instance = dg.DagsterInstance.from_config(str(settings.home / "dagster"))
        evaluations = [e.dagster_event.event_specific_data for e in instance.all_logs(refresh)
                       if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert len(evaluations) > 50
        failed = [f"{ev.asset_key.to_user_string()}:{ev.check_name}" for ev in evaluations if not ev.passed]
        assert not failed, failed
        graph_png = screenshot(port, "/asset-groups", "dagster_asset_graph.png")
        run_png = screenshot(port, f"/runs/{refresh}", "dagster_run.png")
        assert os.path.getsize(graph_png) > 20_000 and os.path.getsize(run_png) > 20_000
        # a new delivery dropped into the landing zone is picked up by its sensor, nobody touching anything
        before = {r["runId"] for r in _runs(port)}
        shutil.copytree(held_back, landing / "juki" / "20261103")
        deadline = time.time() + 300
        sensor_run = None
        while time.time() < deadline and sensor_run is None:
            for r in _runs(port):
                tags = {t["key"]: t["value"] for t in r["tags"]}
                if r["runId"] not in before and tags.get("dagster/partition") == "2026-11-03" \
                        and tags.get("dagster/sensor_name") == "juki_deliveries":
                    sensor_run = r
            time.sleep(3)
        assert sensor_run is not None, "the juki sensor did not start a run for the new delivery"
        assert _wait_run(port, sensor_run["runId"]) == "SUCCESS"
    finally:
        ui.stop(proc)
        os.environ.pop("ONESOURCE_TRUTH_DIR", None)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    from core import lake

    con = lake.connect(settings, read_only=True)
    loaded = {r[0] for r in con.execute("select delivery from lake.ops.deliveries where system = 'juki' "
                                        "and status = 'loaded'").fetchall()}
    assert "20261103" in loaded


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 0)])
def test_one_signal_stops_onesource_ui_and_everything_it_started(tmp_path, signum, status):
    """One SIGTERM (a service manager's stop) or one Ctrl-C ends `onesource ui`: the wrapper, `dagster dev`, the
    webserver, the daemon and the code servers, all within 15 s, with 143 after SIGTERM and 0 after Ctrl-C. The
    wrapper used to stop the group inside its signal handler and then hang there until a second signal."""
    env = {**os.environ, "ONESOURCE_HOME": str(tmp_path / "home"), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys")}
    for k in ("ONESOURCE_LANDING", "ONESOURCE_CATALOG_DSN", "ONESOURCE_DAGSTER_DSN", "DAGSTER_HOME"):
        env.pop(k, None)
    port = free_port()
    with open(tmp_path / "ui.log", "wb") as log:
        # as a user starts it from a shell: its own process group, which Ctrl-C signals
        proc = popen_cli("ui", "--port", str(port), env=env, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
        try:
            wait_until(lambda: answers(f"http://127.0.0.1:{port}/server_info"), 240, 1, "the Dagster UI answering")
            pgid = child_group(proc.pid)
            assert pgid is not None and pgid != proc.pid, "dagster dev runs in a process group of its own"
            assert len(group_members(pgid)) >= 4, group_members(pgid)  # dagster dev, webserver, daemon, code server(s)
            os.killpg(proc.pid, signum) if signum == signal.SIGINT else proc.send_signal(signum)
            t0 = time.monotonic()
            wait_until(lambda: proc.poll() is not None and not ui.group_running(pgid), 15, 0.2,
                       "onesource ui and every process it started gone")
            print(f"stopped {time.monotonic() - t0:.1f}s after one {signal.Signals(signum).name}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == status, (tmp_path / "ui.log").read_text(errors="replace")[-3000:]
