"""個人番号 in text: every 12-digit run (full-width digits too), and the valid ones in a landing zone's files."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from core.ids import my_number_valid
from ingestion.contracts import contracts

RUN = re.compile(r"(?<!\d)\d{12}(?!\d)")


def twelve_digit_runs(text: str) -> set[str]:
    """Every run of exactly 12 digits in ``text``, after NFKC (full-width digits count)."""
    return set(RUN.findall(unicodedata.normalize("NFKC", text)))


def input_my_numbers(landing: Path) -> set[str]:
    """Every 12-digit number passing the 個人番号 check digit in the files of systems that carry one."""
    found: set[str] = set()
    for system, contract in contracts().items():
        if not any(t.has_my_number for t in contract.tables) or not (landing / system).is_dir():
            continue
        codec = contract.options.get("encoding", "utf-8")
        for path in (landing / system).rglob("*"):
            if path.is_file() and path.name != "_SUCCESS":
                found |= {n for n in twelve_digit_runs(path.read_bytes().decode(codec, errors="replace"))
                          if my_number_valid(n)}
    return found
