"""Dagster as the data team's operating path: a build leaves a materialized graph on the platform's own
instance, the UI opened on it starts no run, a new delivery is loaded by its sensor, and stopping the UI
leaves no process behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import dagster as dg
import pytest

from core.settings import get_settings
from dagster_project import ui as ui_module
from dagster_project.definitions import build_definitions
from tests.support.browser import screenshot
from tests.support.commands import popen_cli, run_cli
from tests.support.paths import EXAMPLES
from tests.support.servers import answers, child_group, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The examples' landing zone built by `onesource build` (one delivery of juki held back for later)."""
    root = tmp_path_factory.mktemp("operated")
    landing = root / "landing"
    shutil.copytree(EXAMPLES / "landing", landing)
    held = root / "held" / "20261103"
    shutil.move(str(landing / "juki" / "20261103"), held)
    env = {**os.environ, "ONESOURCE_HOME": str(root / "home"), "ONESOURCE_KEYS_DIR": str(root / "keys"),
           "ONESOURCE_LANDING": str(landing), "ONESOURCE_TRUTH_DIR": str(EXAMPLES / "truth")}
    env.pop("ONESOURCE_CATALOG_DSN", None)
    proc = run_cli("build", "--landing", str(landing), env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return root, landing, held, env


def _instance(root):
    return dg.DagsterInstance.from_config(str(root / "home" / "dagster"))


def test_build_materializes_every_asset_on_the_platforms_instance(built, monkeypatch):
    root, landing, _held, env = built
    for k in ("ONESOURCE_HOME", "ONESOURCE_KEYS_DIR", "ONESOURCE_LANDING"):
        monkeypatch.setenv(k, env[k])
    defs = build_definitions(get_settings())
    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert len(keys) > 40
    with _instance(root) as instance:
        missing = [k.to_user_string() for k in keys if instance.get_latest_materialization_event(k) is None]
        assert not missing, missing
        runs = instance.get_runs()
        assert {r.job_name for r in runs} == {"daily_refresh"}  # the build is one run, as a day is
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        # every sensor, evaluated on this instance for the first time, starts nothing: the lake holds it all
        for sensor in defs.sensors:
            with dg.build_sensor_context(instance=instance, definitions=defs, cursor=None) as ctx:
                result = sensor.evaluate_tick(ctx)
            assert not result.run_requests, (sensor.name, result.run_requests)
            assert result.skip_message, sensor.name


@pytest.mark.browser
def test_ui_on_a_built_lake_queues_nothing_loads_a_new_delivery_and_stops_cleanly(built, tmp_path):
    root, landing, held, env = built
    with _instance(root) as instance:
        before = {r.run_id for r in instance.get_runs()}
    port = free_port()
    log = open(tmp_path / "ui.log", "wb")  # noqa: SIM115 - closed below
    ui = popen_cli("ui", "--port", str(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    pgid = None
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/server_info"), 240, 1, "the Dagster UI answering")
        pgid = child_group(ui.pid)
        assert pgid is not None, "onesource ui started no dagster process"
        time.sleep(75)  # longer than every sensor's interval (30 s and 60 s), the daemon's first ticks included
        with _instance(root) as instance:
            assert {r.run_id for r in instance.get_runs()} == before, "the UI queued a run on a built lake"
        png = screenshot(port, "/assets/marts/core/dim_person", "dagster_operated_asset.png")
        assert os.path.getsize(png) > 20_000
        # a delivery that arrives now is loaded by its sensor, with the refresh after it, in one run
        shutil.copytree(held, landing / "juki" / "20261103")

        def sensor_run():
            with _instance(root) as instance:
                done = [r for r in instance.get_runs() if r.run_id not in before and r.job_name == "daily_refresh"
                        and r.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)]
                if done:
                    return done[0], instance.get_run_stats(done[0].run_id)
            return None

        wait_until(lambda: sensor_run() is not None, 400, 3, "a run loading the new juki delivery and refreshing")
        run, stats = sensor_run()
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags.get("dagster/partition") == "2026-11-03"
        assert run.tags.get("dagster/sensor_name") == "juki_deliveries"
        with _instance(root) as instance:
            planned = {e.dagster_event.asset_key.to_user_string() for e in instance.all_logs(run.run_id)
                       if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"}
            # the new delivery, the refresh after it and the release, and no other system's bronze
            assert {"bronze/juki/jumin", "marts/core/dim_person", "serving/api/release"} <= planned
            assert not any(k.startswith("bronze/") and not k.startswith(("bronze/juki/", "bronze/keiyaku/"))
                           for k in planned), planned
            assert {r.run_id for r in instance.get_runs()} - before == {run.run_id}  # one run for the day
        print(f"daily_refresh for one delivery: {stats.end_time - stats.launch_time:.1f}s from launch to end")
    finally:
        ui.send_signal(signal.SIGTERM)
        try:
            ui.wait(timeout=20)
        finally:
            log.close()
    # Stopped by SIGTERM: the webserver, the daemon, the code server and their runs are gone within seconds
    assert pgid is not None
    t0 = time.monotonic()
    wait_until(lambda: not ui_module.group_running(pgid), 15, 0.2, "every process of the Dagster UI gone")
    print(f"UI stopped {time.monotonic() - t0:.1f}s after onesource ui exited")
