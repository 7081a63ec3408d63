"""The analyst notebooks run top to bottom against the small built lake."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from core.settings import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_at_least_two_notebooks():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, city_home, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(o.get("output_type") in ("execute_result", "display_data") for o in outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_only_what_its_role_is_granted(path):
    """A notebook names its role in its metadata (``onesource.role``; the analysts' by default) and reads
    nothing that role is not granted."""
    import re

    from access.policy import load

    nb = nbformat.read(path, as_version=4)
    role = load().role(nb.metadata.get("onesource", {}).get("role", "analyst"))
    assert role.kind in ("analyst", "department"), "a notebook is a reader's, not the operators'"
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tables = set(re.findall(r"\blake\.([a-z_]+)\.([a-z0-9_]+)", source))
    assert tables, "the notebook reads no lake table"
    assert [f"{s}.{t}" for s, t in tables if role.may_read(s, t) is None] == []
