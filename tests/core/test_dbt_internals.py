"""dbt-core's internals (core/dbt_internals.py) as the platform assumes them, and the public path without them.

A failure here after a dbt-core upgrade means: read the message, re-check what it names in dbt's source, fix
core/dbt_internals.py (or run on ONESOURCE_FRAMEWORK_PATH=public meanwhile), then update CHECKED_AGAINST.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from core import dbt, dbt_internals
from core.settings import Settings
from tests.support import pins

RECHECK = ("re-check core/dbt_internals.py against dbt's source (the compile state reset_compiled puts back, set by "
           "dbt.compilation.Compiler._recursively_prepend_ctes; RunExecutionResult.write), then update "
           "CHECKED_AGAINST")

# a project of one ephemeral model, a table that reads it and a test of the table
TINY = {
    "dbt_project.yml": 'name: tiny\nversion: "1.0.0"\nconfig-version: 2\nprofile: tiny\nmodel-paths: ["models"]\n',
    "profiles.yml": "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                    "      path: \"{{ env_var('TINY_DUCKDB') }}\"\n      threads: 1\n",
    "models/eph.sql": "{{ config(materialized='ephemeral') }}\nselect 1 as n\n",
    "models/m.sql": "{{ config(materialized='table') }}\nselect n from {{ ref('eph') }}\n",
    "models/schema.yml": "version: 2\nmodels:\n  - name: m\n    columns:\n      - name: n\n"
                         "        data_tests: [not_null]\n",
}


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> Path:
    project = tmp_path / "tiny"
    for name, text in TINY.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("TINY_DUCKDB", str(tmp_path / "tiny.duckdb"))
    return project


@pytest.fixture
def tiny_env(tiny, tmp_path, monkeypatch) -> Path:
    """dbt pointed at the tiny project directly; returns its target folder."""
    for k, v in {"DBT_PROFILES_DIR": tiny, "DBT_PROJECT_DIR": tiny, "DBT_TARGET_PATH": tmp_path / "target",
                 "DBT_LOG_PATH": tmp_path / "logs", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}.items():
        monkeypatch.setenv(k, str(v))
    return tmp_path / "target"


def test_dbt_core_is_the_version_the_internals_were_checked_against():
    drift = pins.drift(dbt_internals.CHECKED_AGAINST)
    assert not drift, f"{'; '.join(drift)}: {RECHECK}"


def test_the_compile_state_is_where_dbt_keeps_it():
    from dbt.artifacts.resources.v1.components import CompiledResource
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.nodes import ModelNode

    fields = {f.name: f for f in dataclasses.fields(CompiledResource)}
    for name, parsed in dbt_internals.PARSED_STATE.items():
        assert name in fields, f"dbt's CompiledResource has no field {name} any more: {RECHECK}"
        f = fields[name]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert default == parsed, f"a parsed node's {name} is {default!r} now, not {parsed!r}: {RECHECK}"
    assert issubclass(ModelNode, CompiledResource), f"dbt's ModelNode is no CompiledResource any more: {RECHECK}"
    assert "manifest" in inspect.signature(dbtRunner).parameters, f"dbtRunner takes no manifest any more: {RECHECK}"
    assert list(inspect.signature(RunExecutionResult.write).parameters) == ["self", "path"], \
        f"RunExecutionResult.write(path) changed: {RECHECK}"


def test_a_kept_manifest_builds_again_once_its_nodes_are_reset(tiny, tiny_env):
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", "--quiet"])
    assert parsed.success, parsed.exception
    manifest, written = parsed.result, (tiny_env / "manifest.json").stat().st_mtime_ns
    run_results = tiny_env / "run_results.json"
    for _ in range(2):
        result = dbt_internals.invoke_on_manifest(manifest, ["build"], [], run_results)
        assert result.success, f"a build on the kept, reset manifest failed ({result.exception}): {RECHECK}"
        assert [str(r.status) for r in result.result.results] == ["success", "pass"]
        assert run_results.exists(), f"RunExecutionResult.write wrote no run_results.json: {RECHECK}"
        run_results.unlink()
    assert (tiny_env / "manifest.json").stat().st_mtime_ns == written, \
        f"--no-write-json no longer keeps dbt from writing manifest.json: {RECHECK}"
    # why the reset exists: dbt compiles in place, and a node compiled before is not given its CTEs again
    node = manifest.nodes["model.tiny.m"]
    assert node.compiled and node.extra_ctes_injected, f"dbt no longer compiles a manifest's nodes in place: {RECHECK}"
    again = dbtRunner(manifest=manifest).invoke(["build", "--no-write-json"])
    assert not again.success and "__dbt__cte__eph" in (again.result.results[0].message or ""), \
        f"a node compiled before now builds again without the reset: dbt changed how it compiles; {RECHECK} " \
        f"(reset_compiled may be needless now)"


@pytest.mark.parametrize("path", ["fast", "public"])
def test_the_refresh_builds_on_either_framework_path(path, tiny, tmp_path, monkeypatch):
    """run_dbt(..., reuse_manifest=True), as the refresh's dbt stages call it: the fast path parses once and
    writes no manifest again; the public path parses afresh each time (dbt's own, documented way)."""
    monkeypatch.setattr(dbt, "DBT_DIR", tiny)
    monkeypatch.setattr(dbt, "_manifest", [])
    settings = Settings(home=tmp_path / "home", catalog="sqlite", keys_dir_override=tmp_path / "keys",
                        framework_path=path)
    manifest = settings.home / "dbt" / "target" / "manifest.json"
    parsed_at = []
    for _ in range(2):
        result = dbt.run_dbt(["build"], settings, reuse_manifest=True, label="tiny")
        assert result.success, result.exception
        assert [str(r.status) for r in result.result.results] == ["success", "pass"]
        assert (settings.home / "dbt" / "target" / "run_results.json").exists()
        parsed_at.append(manifest.stat().st_mtime_ns)
    if path == "fast":
        assert parsed_at[0] == parsed_at[1] and len(dbt._manifest) == 1  # one parse, kept
    else:
        assert parsed_at[0] < parsed_at[1] and not dbt._manifest  # a parse (and its manifest.json) per build
