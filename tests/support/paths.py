"""Where things are: the repository, the shared spec, the examples' landing zone, the artifacts folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"  # the shared spec: only its conformance check reads it
# a landing zone of every system written by someone else's generator, with truth and a manifest of its faults
EXAMPLES = REPO / "tests" / "fixtures" / "examples"


def artifact(name: str, folder: str = "journeys") -> Path:
    """A file to look at after the run (a screenshot, a command's output): ``$ONESOURCE_ARTIFACTS/<folder>/<name>``,
    by default under ``artifacts/`` in the repository (git-ignored)."""
    where = Path(os.environ.get("ONESOURCE_ARTIFACTS", str(REPO / "artifacts"))) / folder
    where.mkdir(parents=True, exist_ok=True)
    return where / name
