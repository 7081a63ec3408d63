"""The instance's event log (dagster_project/internals.py): Dagster's SQLite shards written through kept
connections; what one process writes, another reads at once, and a wipe forgets it."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from core.settings import Settings
from dagster_project import ui
from tests.support.paths import REPO


def _asset_with_checks(n: int) -> dg.AssetsDefinition:
    specs = [dg.AssetSpec(f"a{i}") for i in range(n)]

    @dg.multi_asset(specs=specs, check_specs=[dg.AssetCheckSpec("c", asset=f"a{i}") for i in range(n)])
    def many():
        for i in range(n):
            yield dg.MaterializeResult(asset_key=f"a{i}", metadata={"i": i})
            yield dg.AssetCheckResult(asset_key=f"a{i}", check_name="c", passed=i % 2 == 0)

    return many


def test_events_written_through_kept_connections_are_read_by_another_process_at_once(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with ui.open_instance(settings) as instance:
        assert type(instance.event_log_storage).__name__ == "LocalEventLogStorage"
        result = dg.materialize([_asset_with_checks(30)], instance=instance)
        assert result.success
        # another process (the webserver, the daemon) opens the same instance while this one keeps its connections
        probe = ("import sys, dagster as dg; i = dg.DagsterInstance.from_config(sys.argv[1]); "
                 "ev = i.get_latest_materialization_event(dg.AssetKey('a29')); "
                 "c = i.event_log_storage.get_latest_asset_check_execution_by_key("
                 "[dg.AssetCheckKey(dg.AssetKey('a3'), 'c')]); "
                 "print(ev.dagster_event.event_specific_data.materialization.metadata['i'].value, "
                 "list(c.values())[0].status.value, len(i.get_runs()))")
        out = subprocess.run([sys.executable, "-c", probe, str(settings.home / "dagster")], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split() == ["29", "FAILED", "1"]
        # a second run in the same process goes on through the kept connections, and a wipe forgets both
        assert dg.materialize([_asset_with_checks(30)], instance=instance).success
        assert len(instance.get_runs()) == 2
        instance.wipe()
        assert instance.get_latest_materialization_event(dg.AssetKey("a29")) is None
        assert dg.materialize([_asset_with_checks(3)], instance=instance).success
        assert instance.get_latest_materialization_event(dg.AssetKey("a2")) is not None
