"""Reading a simulated landing zone and its manifest, for the simulator's tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


def faults(city, cls: str) -> dict[tuple[str, str], int]:
    """Manifest faults counted by (file, kind)."""
    c: Counter = Counter()
    for row in city.manifest[f"{cls}_rows"]:
        c[(row["file"], row["kind"])] += 1
    return c


def manifest_lines(city, cls: str, kind: str, file: str) -> set[int]:
    return {r["line"] for r in city.manifest[f"{cls}_rows"] if r["kind"] == kind and r["file"] == file}


def files(city, pattern: str) -> list[Path]:
    return sorted(city.landing.glob(pattern))


def rel(city, path: Path) -> str:
    return path.relative_to(city.landing).as_posix()


# --- the spec's own conformance check -------------------------------------------------------------
