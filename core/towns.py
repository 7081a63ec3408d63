"""Ichikawa City's 77 town names (町名), their highest 丁目 and 郵便番号.

One list for the simulator and for address parsing; see the notes in the CSV on
which postal codes are confirmed.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

PREFECTURE = "千葉県"
CITY = "市川市"
LG_CODE = "122033"


@dataclass(frozen=True)
class Town:
    name: str
    chome_max: int  # 0: the town has no 丁目 and uses 番地
    postal: str


@functools.cache
def load_towns() -> tuple[Town, ...]:
    text = resources.files("core").joinpath("data/ichikawa_towns.csv").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    return tuple(Town(r["town"], int(r["chome_max"]), r["postal_code"]) for r in csv.DictReader(rows))
