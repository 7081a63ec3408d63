"""The dbt project and its manifest, prepared by ``onesource setup`` or on first use, never at import."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from onesource.core.dbt import DBT_DIR, run_dbt
from onesource.core.settings import Settings


def _stale(manifest: Path) -> bool:
    """No manifest yet, or a file of the dbt project changed since it was parsed."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in DBT_DIR.rglob("*") if p.suffix in (".sql", ".yml", ".yaml"))


def prepare(settings: Settings) -> Path:
    """Parse the dbt project into the home's target folder when its manifest is missing or stale."""
    target = settings.home / "dbt" / "target"
    manifest = target / "manifest.json"
    if _stale(manifest):
        result = run_dbt(["parse", "--quiet"], settings)
        if not result.success:
            raise RuntimeError("dbt parse failed; run `onesource dbt parse` to see why")
    return manifest


def project(settings: Settings) -> DbtProject:
    prepare(settings)
    return DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target_path=settings.home / "dbt" / "target")
