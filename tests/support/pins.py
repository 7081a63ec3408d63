"""The versions a module of framework internals (core/dbt_internals.py, dagster_project/internals.py) was checked
against, next to those installed and pinned."""

from __future__ import annotations

import importlib.metadata
import tomllib

from core.settings import REPO_ROOT


def pinned() -> dict[str, str]:
    """pyproject.toml's pins of the platform's direct dependencies: name -> version."""
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return {name.split("[")[0]: version for name, version in (d.split("==", 1) for d in deps if "==" in d)}


def drift(checked: dict[str, str]) -> list[str]:
    """What differs from ``checked`` (package -> version): the installed version or pyproject.toml's pin."""
    pins = pinned()
    out = []
    for package, version in checked.items():
        installed = importlib.metadata.version(package)
        if installed != version:
            out.append(f"{package} {installed} is installed (checked against {version})")
        if pins.get(package) != version:
            out.append(f"pyproject.toml pins {package}=={pins.get(package)} (checked against {version})")
    return out
