"""The Dagster code location: assets, checks, sensors and schedules; `onesource build` runs the graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import dagster as dg
import pytest

from dagster_project.defs import maintenance
from ingestion.contracts import contracts
from tests.fixtures import handmade
from tests.support.commands import run_cli
from tests.support.lakes import platform_at
from tests.support.paths import EXAMPLES, REPO


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONESOURCE_HOME", str(home / "home"))
        from dagster_project.definitions import build_definitions

        yield build_definitions()


def test_every_expected_asset_check_sensor_and_schedule(defs):
    dg.Definitions.validate_loadable(defs)  # what the code server does: unique names, resolvable jobs
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for contract in contracts().values():
        for t in contract.tables:
            key = f"bronze/{t.system}/{t.name.split('__', 1)[1]}"
            assert key in keys
            node = graph.get(dg.AssetKey(key.split("/")))
            assert node.group_name == "bronze"
            assert f"team:{contract.owner}" in node.owners
            assert node.description and contract.name in node.description
            checks = {c.name for c in graph.asset_check_keys if c.asset_key == dg.AssetKey(key.split("/"))}
            assert {"reconciliation", "contract_expectations", "freshness", "as_delivered"} <= checks
    for expected in ("staging/juki/stg_juki__residents", "staging/keiyaku/stg_keiyaku__vendors",
                     "identity/person/person_records", "identity/person/person_membership",
                     "identity/business/business_membership", "marts/core/dim_person",
                     "marts/kpi/dx_kpi_monthly", "marts/departments/nursery_waiting_list", "opendata/city/files",
                     "dashboards/city/pages", "products/kosodate_shien/kosodate_shien__child_allowance_outreach",
                     "products/shiminzei/shiminzei__exempt_household_benefit_outreach",
                     "quarantine/ingestion/field_issues"):
        assert expected in keys, expected
    # a graph node shows only the last part of its key: no two assets share it
    last = Counter(k.split("/")[-1] for k in keys)
    assert not [k for k in keys if last[k.split("/")[-1]] > 1]
    # every asset is defined here, described and materializable: no stub auto-created for a dangling dependency
    for key in keys:
        node = graph.get(dg.AssetKey(key.split("/")))
        assert node.is_materializable and node.description, key
    # the outreach lists are refreshed daily: the release (the end of every refresh) waits for them
    release = "serving/api/release"
    for outreach in ("products/kosodate_shien/kosodate_shien__child_allowance_outreach",
                     "products/shiminzei/shiminzei__exempt_household_benefit_outreach"):
        assert dg.AssetKey(outreach.split("/")) in graph.get(dg.AssetKey(release.split("/"))).parent_keys
    for key in keys:
        node = graph.get(dg.AssetKey(key.split("/")))
        if node.is_materializable:
            assert node.group_name == key.split("/")[0], key  # groups by layer
    # dbt tests are asset checks too
    dbt_checks = [c for c in graph.asset_check_keys if c.asset_key.path[0] in ("staging", "marts")]
    assert len(dbt_checks) > 20
    assert any(c.name == "linkage_quality" for c in graph.asset_check_keys)
    sensors = {s.name for s in defs.sensors}
    assert sensors == {f"{s}_deliveries" for s, c in contracts().items() if c.connector != "database"} | {
        "keiyaku_changes", "refresh_after_loads"}
    assert {s.name for s in defs.schedules} == {"nightly", "lake_maintenance_nightly", "access_log_witness_daily"}
    nightly = next(s for s in defs.schedules if s.name == "nightly")
    # the nightly run relinks everything; runs after deliveries default to incremental linkage
    with dg.build_schedule_context() as context:
        requests = nightly.evaluate_tick(context).run_requests
    assert requests[0].run_config == {"ops": {"link": {"config": {"incremental": False}}}}
    # the staging models sit downstream of bronze and upstream of the linkage
    assert dg.AssetKey(["bronze", "juki", "jumin"]) in graph.get(
        dg.AssetKey(["staging", "juki", "stg_juki__residents"])).parent_keys
    # the bronze assets' partitions are the delivery days, added as deliveries arrive (none before the first)
    assert isinstance(graph.get(dg.AssetKey(["bronze", "juki", "jumin"])).partitions_def, dg.DynamicPartitionsDefinition)
    assert dg.AssetKey(["identity", "person", "person_membership"]) in graph.get(
        dg.AssetKey(["marts", "core", "dim_person"])).parent_keys


def test_sensor_requests_a_run_per_closed_delivery(defs, tmp_path, monkeypatch):
    zone = handmade.build(tmp_path / "zone")
    monkeypatch.setenv("ONESOURCE_LANDING", str(tmp_path / "zone" / "landing"))
    sensor = next(s for s in defs.sensors if s.name == "juki_deliveries")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(cursor=None, definitions=defs, instance=instance,
                                       instance_ref=instance.get_ref())
        result = sensor.evaluate_tick(ctx)
        requests = list(result.run_requests)
        assert len(requests) == 1  # one run over the closed days; 1104 is still arriving
        assert requests[0].tags["dagster/asset_partition_range_start"] == "2026-11-01"
        assert requests[0].tags["dagster/asset_partition_range_end"] == "2026-11-03"
        # the delivery days become the bronze assets' partitions, in date order, with the run that loads them
        assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [
            ["2026-11-01", "2026-11-02", "2026-11-03"]]
        instance.add_dynamic_partitions("deliveries", ["2026-11-01", "2026-11-02", "2026-11-03"])
        (tmp_path / "zone" / "landing" / "juki" / "20261104" / "_SUCCESS").write_bytes(b"")
        ctx2 = dg.build_sensor_context(cursor=ctx.cursor, definitions=defs, instance=instance,
                                        instance_ref=instance.get_ref())
        result = sensor.evaluate_tick(ctx2)
        assert [r.partition_key for r in result.run_requests] == ["2026-11-04"]
        assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["2026-11-04"]]
    assert zone["unclosed"] == ["juki/20261104"]


def _build(home, landing, truth=None):
    env = {**os.environ, "ONESOURCE_HOME": str(home), "ONESOURCE_KEYS_DIR": str(home.parent / "keys")}
    if truth:
        env["ONESOURCE_TRUTH_DIR"] = str(truth)
    return run_cli("build", "--landing", str(landing), env=env)


def test_build_runs_the_whole_graph_and_every_check_passes(tmp_path):
    proc = _build(tmp_path / "home", EXAMPLES / "landing", EXAMPLES / "truth")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "rows per layer:" in out and " bronze " in out and " marts " in out and "quarantined rows: 4" in out
    assert ", 0 failed, 0 warned" in out
    assert (tmp_path / "home" / "dashboards" / "population.html").exists()
    assert (tmp_path / "home" / "opendata" / "catalog.jsonld").exists()


def test_build_fails_naming_the_asset_and_the_delivery(tmp_path):
    handmade.build(tmp_path / "zone")
    proc = _build(tmp_path / "home", tmp_path / "zone" / "landing")
    assert proc.returncode == 1
    assert "load_madoguchi" in proc.stderr and "madoguchi/20261102" in proc.stderr and "担当課" in proc.stderr


def test_lake_maintenance_job_keeps_every_release(built_city):
    """The nightly retention job runs on a built lake (merging its files changes no row): every release and the
    marts stay as they were."""
    from core import lake
    from core.releases import mart_checksums

    with platform_at(built_city):
        con = lake.connect(read_only=True)
        before = mart_checksums(con)
        releases = con.execute("select snapshot_id from lake.ops.releases").fetchall()
        con.close()
        assert before and releases
        result = maintenance.lake_maintenance.execute_in_process()
        assert result.success
        con = lake.connect(read_only=True)
        assert mart_checksums(con) == before
        assert {r[0] for r in releases} <= {r[0] for r in con.execute("select snapshot_id from lake.snapshots()").fetchall()}
        con.close()


def test_importing_the_code_location_has_no_side_effects(tmp_path):
    """Importing dagster_project.definitions reads no settings, writes nothing, parses no dbt project and
    leaves the environment as it was; Dagster builds the definitions when it loads the code location."""
    home = tmp_path / "home"
    probe = ("import json, os, sys; before = dict(os.environ); import dagster_project.definitions as d; "
             "print(json.dumps({'env_unchanged': dict(os.environ) == before, 'dbt_loaded': 'dbt.cli.main' in "
             "sys.modules, 'lazy': not isinstance(d.defs, __import__('dagster').Definitions)}))")
    env = {**os.environ, "ONESOURCE_HOME": str(home), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys")}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"env_unchanged": True, "dbt_loaded": False,
                                                                 "lazy": True}
    assert not home.exists() and not (tmp_path / "keys").exists()


def test_a_delivery_changed_after_its_load_fails_its_check_in_dagster(tmp_path, monkeypatch):
    """The data team runs the city in Dagster: a delivery corrected in place after its load is named by an asset
    check that fails (an error, not blocking), with the reload to run, on the next run of that system's load,
    whatever partition it runs (the ``ingest`` command's exit status 4 is the same news for a scheduled job)."""
    from dagster_project.defs.ingestion.assets import DELIVERIES, build_assets
    from dagster_project.defs.resources import Platform

    handmade.build(tmp_path / "zone")
    landing = tmp_path / "zone" / "landing"
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    load_juki = next(a for a in build_assets(None) if a.node_def.name == "load_juki")
    days = sorted(p.name for p in (landing / "juki").iterdir())
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DELIVERIES.name, [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in days])

    def run(day: str) -> dict[str, dg.AssetCheckEvaluation]:
        result = dg.materialize([load_juki], instance=instance, partition_key=f"{day[:4]}-{day[4:6]}-{day[6:]}",
                                resources={"platform": Platform(landing=str(landing))}, raise_on_error=False)
        assert result.success
        return {e.check_name: e for e in result.get_asset_check_evaluations()}

    assert run(days[0])["as_delivered"].passed
    full = next(p for p in (landing / "juki" / days[0]).iterdir() if p.name.startswith("juki_full"))
    full.write_bytes(full.read_bytes().replace(b"\r\n", b"\r\n\r\n", 1))  # corrected in place
    check = run(days[1])["as_delivered"]  # the next day's run names the first day
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert f"--reload juki/{days[0]}" in check.metadata["to_reload"].value
    assert f"{full.name} changed" in check.metadata["changed_after_load"].value
