"""Run dbt on the lake: the profile's variables come from the platform's settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from onesource.core import faults, lake
from onesource.core.settings import REPO_ROOT, Settings, get_settings

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
        # the plugins (session, normalizers, the analysis zone's pseudonyms) read this run's settings
        "ONESOURCE_KEYS_DIR": str(settings.keys_dir),
        "ONESOURCE_DATA_PATH": settings.data_path_url,
        "ONESOURCE_ENCRYPT_DATA": "true" if settings.encrypted else "false",
        **{f"ONESOURCE_{k.upper()}": (v.get_secret_value() if hasattr(v, "get_secret_value") else str(v))
           for k in ("s3_endpoint", "s3_key_id", "s3_key", "s3_region", "s3_use_ssl", "s3_url_style")
           if (v := getattr(settings, k)) is not None},
    }


def _fault_callback(settings: Settings) -> Callable:
    def callback(event) -> None:
        if event.info.name == "NodeFinished":
            faults.kill_point(f"dbt:{event.data.node_info.node_name}", settings)
    return callback


_attached: set[str] = set()  # catalogs this process has attached in the encrypted mode


def _attach_once(settings: Settings) -> None:
    where = settings.catalog_dsn.get_secret_value() if settings.catalog_dsn else str(settings.catalog_path)
    if where not in _attached:
        lake.connect(settings).close()
        _attached.add(where)


def run_dbt(args: Sequence[str], settings: Settings | None = None):
    """Invoke dbt in-process (``dbtRunner``); returns its result object (``.success``, ``.result``)."""
    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    lake.install_extensions(settings)
    settings.ensure_data_path()
    if settings.encrypted:  # the catalog remembers the encrypted mode from its first attach: make it ours
        _attach_once(settings)
    env = dbt_env(settings)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    hooks = [_fault_callback(settings)] if faults.armed(settings) else []
    try:
        return dbtRunner(callbacks=hooks).invoke(list(args))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stale(manifest: Path) -> bool:
    """No manifest yet, or a file of the dbt project changed since it was parsed."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in DBT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".yaml"))


def prepare_manifest(settings: Settings | None = None) -> Path:
    """dbt's manifest in the home's target folder, parsed again when missing or stale; its path."""
    settings = settings or get_settings()
    manifest = settings.home / "dbt" / "target" / "manifest.json"
    if _stale(manifest):
        result = run_dbt(["parse", "--quiet"], settings)
        if not result.success:
            raise RuntimeError("dbt parse failed; run `onesource dbt parse` to see why")
    return manifest
