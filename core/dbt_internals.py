"""dbt-core's internals, every use of them in one place: the refresh's builds run on one parsed manifest.

dbt documents handing ``dbtRunner`` a manifest parsed before (``dbtRunner(manifest=...)``), not running several
invocations on the same one: dbt compiles the manifest's nodes in place. What this module relies on, and why:

- the compile state of a manifest node: ``compiled``, ``compiled_code``, ``extra_ctes_injected``, ``extra_ctes``
  and ``_pre_injected_sql`` (``dbt.artifacts.resources.v1.components.CompiledResource``, set by
  ``dbt.compilation.Compiler._recursively_prepend_ctes``), put back as the parse left it before each build. A
  node compiled before counts its ephemeral CTEs as injected already: compiled again, its SQL would name CTEs
  it no longer defines.
- ``RunExecutionResult.write(path)`` (``dbt.artifacts.schemas.run``): run_results.json written here, because the
  build runs with ``--no-write-json``, which keeps dbt from writing manifest.json again at every invocation.

The gain (``core.dbt.run_dbt(..., reuse_manifest=True)``, the refresh's dbt stages): each invocation would
otherwise parse the project and write its manifest again, about a second each, three dbt stages a refresh.

Checked against dbt-core 1.11.16 (``CHECKED_AGAINST``): tests/core/test_dbt_internals.py fails, saying what to
re-check, when the installed or pinned dbt-core differs or these internals no longer behave as assumed.
``ONESOURCE_FRAMEWORK_PATH=public`` (``core.settings``) runs dbt without them: a fresh parse per invocation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CHECKED_AGAINST = {"dbt-core": "1.11.16"}

# a node's compile state, as the parse leaves it (what reset_compiled puts back)
PARSED_STATE: dict[str, Any] = {"compiled": False, "compiled_code": None, "extra_ctes_injected": False,
                                "extra_ctes": [], "_pre_injected_sql": None}


def reset_compiled(manifest: Any) -> Any:
    """``manifest`` with every compiled node as the parse left it (seeds and sources have no compile state)."""
    for node in manifest.nodes.values():
        if hasattr(node, "extra_ctes_injected"):
            for name, value in PARSED_STATE.items():
                setattr(node, name, list(value) if isinstance(value, list) else value)
    return manifest


def invoke_on_manifest(manifest: Any, args: Sequence[str], callbacks: Sequence[Callable],
                       run_results: Path) -> Any:
    """dbt ``args`` on a manifest parsed before, its nodes reset first; run_results.json written to
    ``run_results`` (and no other artifact). Returns dbt's result (``.success``, ``.result``, ``.exception``)."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner(manifest=reset_compiled(manifest), callbacks=list(callbacks)).invoke(
        [*args, "--no-write-json"])
    if hasattr(result.result, "write"):
        result.result.write(str(run_results))
    return result
