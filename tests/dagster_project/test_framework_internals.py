"""Dagster's and dagster-dbt's internals (dagster_project/internals.py) as the platform assumes them, and the
public framework path (ONESOURCE_FRAMEWORK_PATH=public) that runs without them.

A failure here after an upgrade of dagster, dagster-postgres or dagster-dbt means: read the message, re-check
what it names in the framework's source, fix dagster_project/internals.py (or run on the public path meanwhile),
then update CHECKED_AGAINST.
"""

from __future__ import annotations

import inspect
import json
import os
from types import SimpleNamespace

import dagster as dg
import pytest

from core.settings import Settings
from dagster_project import internals, ui
from tests.support import pins
from tests.support.commands import run_cli
from tests.support.paths import EXAMPLES

RECHECK = "re-check dagster_project/internals.py, part {part} ({what}), against the framework's source, then " \
          "update CHECKED_AGAINST"


def _has_parameters(fn, names: set[str], part: int, what: str) -> None:
    missing = names - set(inspect.signature(fn).parameters)
    assert not missing, f"{getattr(fn, '__qualname__', fn)} takes no {sorted(missing)} any more: " \
                        + RECHECK.format(part=part, what=what)


def test_the_frameworks_are_the_versions_the_internals_were_checked_against():
    drift = pins.drift(internals.CHECKED_AGAINST)
    assert not drift, f"{'; '.join(drift)}: re-check every part of dagster_project/internals.py against the " \
                      "framework's source and run this file, then update CHECKED_AGAINST"


# -- 1. the event log ---------------------------------------------------------------------------------------
def _probe_assets(n: int = 3) -> dg.AssetsDefinition:
    @dg.multi_asset(specs=[dg.AssetSpec(f"p{i}") for i in range(n)],
                    check_specs=[dg.AssetCheckSpec("c", asset=f"p{i}") for i in range(n)])
    def probes():
        for i in range(n):
            yield dg.MaterializeResult(asset_key=f"p{i}", metadata={"i": i})
            yield dg.AssetCheckResult(asset_key=f"p{i}", check_name="c", passed=True)

    return probes


def test_the_sqlite_event_log_writes_every_event_through_its_kept_connections(tmp_path):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage

    what = "LocalEventLogStorage"
    for name, params in {"_connect": {"shard"}, "_initdb": {"engine"}, "conn_string_for_shard": {"shard_name"},
                         "has_table": {"table_name"}, "__init__": {"base_dir", "inst_data"}}.items():
        assert callable(getattr(SqliteEventLogStorage, name, None)), \
            f"Dagster's SqliteEventLogStorage has no {name} any more: " + RECHECK.format(part=1, what=what)
        _has_parameters(getattr(SqliteEventLogStorage, name), params, 1, what)
    with ui.open_instance(Settings(home=tmp_path / "home")) as instance:
        storage = instance.event_log_storage
        assert type(storage) is internals.LocalEventLogStorage
        assert hasattr(storage, "_db_lock") and isinstance(storage._initialized_dbs, set), \
            "Dagster's SqliteEventLogStorage no longer has _db_lock and _initialized_dbs: " \
            + RECHECK.format(part=1, what=what)
        result = dg.materialize([_probe_assets()], instance=instance)
        assert result.success
        # Dagster opened the run's shard and the index through _connect, which keeps their engines
        assert {INDEX_SHARD_NAME, result.run_id} <= set(storage.__dict__.get("_engines", {})), \
            "Dagster no longer writes its events through SqliteEventLogStorage._connect(shard): " \
            + RECHECK.format(part=1, what=what)
        assert storage._engine(result.run_id) is storage._engine(result.run_id)
        with storage._connect(result.run_id) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: no fsync per commit
        assert storage.has_table("asset_keys")
        assert instance.get_latest_materialization_event(dg.AssetKey("p2")) is not None


def test_either_path_reads_the_history_the_other_wrote(tmp_path):
    """Dagster's own ``storage: sqlite:`` and the fast path's storage share the layout on disk: switching
    ONESOURCE_FRAMEWORK_PATH keeps the instance's runs, materializations and checks."""
    home = tmp_path / "home"
    fast, public = Settings(home=home), Settings(home=home, framework_path="public")
    assert "dagster._core" in ui.instance_yaml(fast) and "dagster_project.internals" in ui.instance_yaml(fast)
    assert "dagster._core" not in ui.instance_yaml(public) and "internals" not in ui.instance_yaml(public)
    with ui.open_instance(fast) as instance:
        first = dg.materialize([_probe_assets()], instance=instance).run_id
    with ui.open_instance(public) as instance:
        from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

        assert type(instance.event_log_storage) is SqliteEventLogStorage  # Dagster's own
        assert [r.run_id for r in instance.get_runs()] == [first], \
            "Dagster's own SQLite storage does not find the runs the fast path's wrote: its layout on disk moved; " \
            + RECHECK.format(part=2, what="storage_yaml")
        assert instance.get_latest_materialization_event(dg.AssetKey("p1")).run_id == first
        second = dg.materialize([_probe_assets()], instance=instance).run_id
    with ui.open_instance(fast) as instance:
        assert {r.run_id for r in instance.get_runs()} == {first, second}
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key([dg.AssetCheckKey(
            dg.AssetKey("p0"), "c")])
        assert list(check.values())[0].run_id == second


def test_the_postgres_event_log_can_be_given_a_kept_engine():
    from dagster_postgres.event_log.event_log import PostgresEventLogStorage
    from dagster_postgres.utils import create_pg_engine

    what = "PooledPostgresEventLogStorage"
    _has_parameters(PostgresEventLogStorage.__init__, {"inst_data", "postgres_url", "should_autocreate_tables",
                                                       "token_provider"}, 1, what)
    _has_parameters(create_pg_engine, {"postgres_url", "token_provider"}, 1, what)
    source = inspect.getsource(PostgresEventLogStorage)
    assert "self._engine" in source and "self._token_provider" in source, \
        "dagster-postgres's event log no longer keeps its engine in _engine (and its token provider in " \
        "_token_provider): " + RECHECK.format(part=1, what=what)


@pytest.mark.postgres
def test_the_postgres_event_log_keeps_one_engine(pg_database):
    url = pg_database.replace("postgresql://", "postgresql+psycopg2://")
    storage = internals.PooledPostgresEventLogStorage.from_config_value(None, {"postgres_url": url})
    try:
        assert storage._engine.pool.size() == 1 and storage._engine.url.render_as_string(hide_password=False) == url
        assert storage.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.ASSET_MATERIALIZATION)) == []
    finally:
        storage.dispose()


@pytest.mark.postgres
def test_the_public_path_on_postgres_is_dagster_postgres_own_storage(tmp_path, pg_database, monkeypatch):
    monkeypatch.setenv("ONESOURCE_DAGSTER_DSN", pg_database)
    with ui.open_instance(Settings(home=tmp_path / "home", framework_path="public")) as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert dg.materialize([_probe_assets()], instance=instance).success
        assert instance.get_latest_materialization_event(dg.AssetKey("p2")) is not None


# -- 3. dbt's results as Dagster events ----------------------------------------------------------------
def test_dbt_results_become_the_events_of_the_selected_assets_and_checks(tmp_path, monkeypatch):
    """A subset of the staging stage, as a run of two models asks for it: the dbt selection dagster-dbt computes
    names those two, and their results come back as their materializations and check results."""
    from dagster_dbt.asset_utils import (
        get_asset_check_key_for_test,
        get_manifest_and_translator_from_dbt_assets,
        get_subset_selection_for_context,
    )

    from dagster_project.defs.dbt import assets as dbt_assets
    from dagster_project.defs.resources import Platform
    from refresh import sequence

    what = "dbt_selection, dbt_events"
    _has_parameters(get_manifest_and_translator_from_dbt_assets, {"dbt_assets"}, 3, what)
    _has_parameters(get_subset_selection_for_context, {"context", "manifest", "select", "exclude", "selector",
                                                       "dagster_dbt_translator",
                                                       "current_dbt_indirect_selection_env"}, 3, what)
    _has_parameters(get_asset_check_key_for_test, {"manifest", "dagster_dbt_translator", "test_unique_id",
                                                   "project"}, 3, what)
    _has_parameters(dbt_assets.OneSourceTranslator.get_asset_spec, {"manifest", "unique_id", "project"}, 3, what)

    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    monkeypatch.delenv("ONESOURCE_FRAMEWORK_PATH", raising=False)
    settings = Settings()
    staging = dbt_assets._stage_assets(settings, sequence.STAGING)
    manifest = json.loads((settings.home / "dbt" / "target" / "manifest.json").read_text())
    translator = dbt_assets.OneSourceTranslator()
    tests = {}
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] == "test" and node.get("attached_node", "").startswith("model."):
            tests.setdefault(node["attached_node"], []).append(uid)
    models = [uid for uid in sorted(tests) if translator.get_asset_key(manifest["nodes"][uid]) in staging.keys][:2]
    other = next(uid for uid in sorted(tests) if uid not in models
                 and translator.get_asset_key(manifest["nodes"][uid]) in staging.keys)
    keys = [translator.get_asset_key(manifest["nodes"][uid]) for uid in models]
    asked = []

    def build(settings, stage, selection=None, check=True):
        asked.append(selection)
        results = [SimpleNamespace(node=SimpleNamespace(unique_id=uid, name=uid.split(".")[-1]), status=status,
                                   execution_time=0.5, adapter_response={"rows_affected": 7}, failures=0)
                   for model in [*models, other] for uid, status in [(model, "success"), *((t, "pass") for t in tests[model])]]
        return SimpleNamespace(success=True, exception=None, result=SimpleNamespace(results=results))

    monkeypatch.setattr(sequence, "dbt_build", build)
    result = dg.materialize([staging], selection=keys, resources={"platform": Platform()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    words = " ".join(asked[0])
    assert asked[0][0] == "--select" and all(manifest["nodes"][uid]["name"] in words for uid in models) \
        and manifest["nodes"][other]["name"] not in words, \
        f"dagster-dbt's subset selection is {asked[0]}: " + RECHECK.format(part=3, what=what)
    materialized = {m.asset_key: m.metadata for m in (e.event_specific_data.materialization
                                                      for e in result.get_asset_materialization_events())}
    assert set(materialized) == set(keys), "dbt's results did not become the selected assets' materializations: " \
                                           + RECHECK.format(part=3, what=what)
    assert all(m["rows_affected"].value == 7 for m in materialized.values())
    checks = {(c.asset_key, c.check_name) for c in result.get_asset_check_evaluations()}
    expected = {(translator.get_asset_key(manifest["nodes"][m]), manifest["nodes"][t]["name"])
                for m in models for t in tests[m]}
    assert checks == expected, "dbt's tests did not become the selected assets' check results: " \
                               + RECHECK.format(part=3, what=what)


# -- 4. a run of the code location the UI serves ----------------------------------------------------------
LOCATION = '''import dagster as dg

@dg.asset
def probe() -> int:
    return 1

defs = dg.Definitions(assets=[probe], jobs=[dg.define_asset_job("probe_job")], executor=dg.in_process_executor)
'''


def test_a_run_executed_as_the_ui_would_carries_the_location_and_job_origin(tmp_path):
    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.remote_representation.code_location import InProcessCodeLocation
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    what = "execute_as_the_ui_would"
    _has_parameters(ReconstructableJob, {"repository", "job_name"}, 4, what)
    _has_parameters(execute_run, {"job", "dagster_run", "instance"}, 4, what)
    _has_parameters(InProcessCodeLocationOrigin, {"loadable_target_origin", "location_name"}, 4, what)
    _has_parameters(InProcessCodeLocation._get_reconstructable_repository, {"repository_name"}, 4, what)
    _has_parameters(dg.DagsterInstance.create_run, {
        "job_name", "run_id", "run_config", "resolved_op_selection", "step_keys_to_execute", "op_selection", "status",
        "root_run_id", "parent_run_id", "tags", "job_snapshot", "execution_plan_snapshot", "parent_job_snapshot",
        "remote_job_origin", "job_code_origin", "asset_selection", "asset_check_selection", "asset_graph"}, 4, what)
    LoadableTargetOrigin(executable_path="python", module_name="m", working_directory=str(tmp_path))

    module = "onesource_internals_probe_location"
    (tmp_path / f"{module}.py").write_text(LOCATION, encoding="utf-8")
    with ui.open_instance(Settings(home=tmp_path / "home")) as instance:
        result = internals.execute_as_the_ui_would(instance, module, tmp_path, "probe_job", {}, {"probe": "yes"})
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        origin = run.remote_job_origin
        assert origin is not None and origin.location_name == module and origin.job_name == "probe_job", \
            "the run carries no origin of the code location: the UI would not list it; " \
            + RECHECK.format(part=4, what=what)
        assert run.tags["probe"] == "yes" and run.status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_latest_materialization_event(dg.AssetKey("probe")).run_id == run.run_id


# -- the public path --------------------------------------------------------------------------------------
def test_the_public_path_builds_the_whole_graph(tmp_path):
    """``onesource build`` on the frameworks' public API alone: Dagster's own storage, dagster-dbt's dbt process
    and its stream() of events, execute_in_process; the same graph built, every check passing."""
    home = tmp_path / "home"
    env = {**os.environ, "ONESOURCE_HOME": str(home), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys"),
           "ONESOURCE_TRUTH_DIR": str(EXAMPLES / "truth"), "ONESOURCE_FRAMEWORK_PATH": "public"}
    proc = run_cli("build", "--landing", str(EXAMPLES / "landing"), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "rows per layer:" in out and " marts " in out and "quarantined rows: 4" in out
    assert ", 0 failed, 0 warned" in out
    assert (home / "dashboards" / "population.html").exists()
    assert "storage:\n  sqlite:" in (home / "dagster" / "dagster.yaml").read_text()
    # dbt ran in dagster-dbt's processes, one target folder each (their run results), not in this process
    ran = sorted(p.parent.name.split("-")[0] for p in (home / "dbt" / "target").glob("*/run_results.json"))
    assert ran == sorted(f"dbt_{s}" for s in ("staging", "marts", "products")), ran
    # the run was execute_in_process's: no origin of the code location
    with ui.open_instance(Settings(home=home, framework_path="public")) as instance:
        assert [r.remote_job_origin for r in instance.get_runs()] == [None]
