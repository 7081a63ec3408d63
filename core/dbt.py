"""Run dbt on the lake: the profile's variables come from the platform's settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import dbt_internals, faults, lake, progress
from core.environment import scoped_environ
from core.settings import REPO_ROOT, Settings, get_settings

DBT_DIR = REPO_ROOT / "dbt"


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    if settings.catalog_dsn is not None:
        target = f"ducklake:postgres:{settings.catalog_dsn.get_secret_value()}"
        schema = settings.catalog_schema
    else:
        lake.ensure_sqlite_catalog(settings.catalog_path)
        target, schema = f"ducklake:sqlite:{settings.catalog_path}", "main"
    return {
        "ONESOURCE_DUCKDB_EXTENSION_DIR": str(settings.duckdb_extension_dir),
        "ONESOURCE_DBT_LAKE": target,
        "ONESOURCE_DBT_DATA_PATH": settings.data_path_url,
        "ONESOURCE_DBT_METADATA_SCHEMA": schema,
        "ONESOURCE_DBT_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "ONESOURCE_DBT_DUCKDB_THREADS": str(settings.duckdb_threads),
        # dbt's own output goes under the platform home, never into the repository
        "DBT_TARGET_PATH": str(settings.home / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_PROFILES_DIR": str(DBT_DIR),
        "DBT_PROJECT_DIR": str(DBT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # dbt's lines go to its log file under the home in full; the console gets only warnings and errors (all
        # of it with -v), without colour codes, which showed as literal escapes in logs and captured output
        "DBT_USE_COLORS": "false",
        "DBT_LOG_LEVEL": console_level(),
        "DBT_LOG_LEVEL_FILE": "debug",  # as dbt's default; set apart, since a console level set alone sets both
        # the plugins (session, normalizers, the analysis zone's pseudonyms) read this run's settings
        "ONESOURCE_KEYS_DIR": str(settings.keys_dir),
        "ONESOURCE_DATA_PATH": settings.data_path_url,
        "ONESOURCE_ENCRYPT_DATA": "true" if settings.encrypted else "false",
        **{f"ONESOURCE_{k.upper()}": (v.get_secret_value() if hasattr(v, "get_secret_value") else str(v))
           for k in ("s3_endpoint", "s3_key_id", "s3_key", "s3_region", "s3_use_ssl", "s3_url_style")
           if (v := getattr(settings, k)) is not None},
    }


def console_level() -> str:
    """dbt's console level: every node's line when the platform logs at INFO (``onesource -v``), otherwise only
    what needs a person (warnings and errors), as the rest of the platform logs."""
    return "info" if logging.getLogger().getEffectiveLevel() <= logging.INFO else "warn"


def _progress_callback(stage: str) -> Callable:
    """dbt's node lines as progress reports (``core.progress``): a bar in place of the lines."""
    def callback(event) -> None:
        if event.info.name == "LogStartLine":
            d = event.data
            progress.report(f"dbt {stage}", d.node_info.node_name, d.index - 1, d.total)
    return callback


def _fault_callback() -> Callable:
    def callback(event) -> None:
        if event.info.name == "NodeFinished":
            faults.kill_point(f"dbt:{event.data.node_info.node_name}")
    return callback


_attached: set[str] = set()  # catalogs this process has attached in the encrypted mode


def _attach_once(settings: Settings) -> None:
    where = settings.catalog_dsn.get_secret_value() if settings.catalog_dsn else str(settings.catalog_path)
    if where not in _attached:
        lake.connect(settings).close()
        _attached.add(where)


def prepare(settings: Settings) -> dict[str, str]:
    """The lake ready for a dbt run (extensions installed, the data folder, the encrypted mode's first attach);
    the environment dbt runs in, whichever process runs it."""
    lake.install_extensions(settings)
    settings.ensure_data_path()
    if settings.encrypted:  # the catalog remembers the encrypted mode from its first attach: make it ours
        _attach_once(settings)
    return dbt_env(settings)


def run_dbt(args: Sequence[str], settings: Settings | None = None, reuse_manifest: bool = False,
            label: str | None = None):
    """Invoke dbt in-process (``dbtRunner``); returns its result object (``.success``, ``.result``).

    With ``reuse_manifest`` (the refresh's builds), dbt runs on a manifest parsed once per process and kept
    while the project's files and the settings stay as they were, and writes only run_results.json: each
    invocation would otherwise parse the project again and write its manifest again (about a second each,
    three times a day). That takes dbt's internals (core/dbt_internals.py); on the public framework path
    (``ONESOURCE_FRAMEWORK_PATH=public``) every invocation parses afresh. ``label`` names the work in progress
    reports (a stage of the refresh)."""
    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    env = prepare(settings)
    hooks = [_progress_callback(label or " ".join(args[:1]))]
    if faults.armed():
        hooks.append(_fault_callback())
    with scoped_environ(env):
        if not reuse_manifest or settings.framework_path == "public":
            parse = list(args[:1]) == ["parse"]
            mtime = _project_mtime() if parse else 0.0
            result = dbtRunner(callbacks=hooks).invoke(list(args))
            if parse and result.success and result.result is not None:
                _keep(env, mtime, result.result)  # a refresh later in this process need not parse again
            return result
        manifest = _parsed_manifest(env)
        if not isinstance(manifest, _Manifest):
            return manifest  # the parse failed: its result says why
        result = dbt_internals.invoke_on_manifest(manifest.manifest, args, hooks,
                                                  Path(env["DBT_TARGET_PATH"]) / "run_results.json")
        if hasattr(result.result, "write"):
            n = len(getattr(result.result, "results", None) or [])
            progress.report(f"dbt {label or args[0]}", "done", n, n)
        return result


@dataclass(frozen=True)
class _Manifest:
    env: tuple  # the dbt environment it was parsed under
    project_mtime: float  # the newest file of the project when it was parsed
    manifest: Any


_manifest: list[_Manifest] = []  # the one kept: a process serves one home at a time


def _project_mtime() -> float:
    return max(p.stat().st_mtime for p in DBT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".yaml"))


def _keep(env: dict[str, str], project_mtime: float, manifest: Any) -> _Manifest:
    _manifest[:] = [_Manifest(tuple(sorted(env.items())), project_mtime, manifest)]
    return _manifest[0]


def _parsed_manifest(env: dict[str, str]):
    """The kept manifest when it still holds, else a fresh parse (which writes manifest.json as usual); the
    failed parse's result when the project does not parse."""
    from dbt.cli.main import dbtRunner

    key, mtime = tuple(sorted(env.items())), _project_mtime()
    if _manifest and _manifest[0].env == key and _manifest[0].project_mtime == mtime:
        return _manifest[0]
    parsed = dbtRunner().invoke(["parse", "--quiet"])
    if not parsed.success or parsed.result is None:
        return parsed
    return _keep(env, mtime, parsed.result)


def _stale(manifest: Path) -> bool:
    """No manifest yet, or a file of the dbt project changed since it was parsed."""
    if not manifest.exists():
        return True
    return _project_mtime() > manifest.stat().st_mtime


def prepare_manifest(settings: Settings | None = None) -> Path:
    """dbt's manifest in the home's target folder, parsed again when missing or stale; its path."""
    settings = settings or get_settings()
    manifest = settings.home / "dbt" / "target" / "manifest.json"
    if _stale(manifest):
        result = run_dbt(["parse", "--quiet"], settings)
        if not result.success:
            raise RuntimeError("dbt parse failed; run `onesource dbt parse` to see why")
    return manifest
