"""The dbt project and its manifest, prepared by ``onesource setup`` or on first use, never at import."""

from __future__ import annotations

from dagster_dbt import DbtProject

from core.dbt import DBT_DIR, prepare_manifest
from core.settings import Settings


def project(settings: Settings) -> DbtProject:
    manifest = prepare_manifest(settings)
    return DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target_path=manifest.parent)
