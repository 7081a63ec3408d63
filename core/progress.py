"""Progress of long work, told to whoever listens: the command line draws a bar of it, nothing else does.

The refresh's stages and dbt's nodes report here, whichever way they run (``onesource refresh``, or Dagster's
assets in the run's process during ``onesource build``). With no listener a report costs a list lookup.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    task: str  # what runs: "ingest juki", "dbt marts", "linkage"
    detail: str = ""  # where in it: a delivery, a model
    done: int | None = None  # how many of total are done, when the task counts
    total: int | None = None


Listener = Callable[[Step], None]
_listeners: list[Listener] = []


def report(task: str, detail: str = "", done: int | None = None, total: int | None = None) -> None:
    """Tell the listeners where the work is."""
    if _listeners:
        step = Step(task, detail, done, total)
        for listener in list(_listeners):
            listener(step)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener`` with every report made inside the block."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
