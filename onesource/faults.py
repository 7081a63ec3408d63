"""Fault injection for the recovery tests: SIGKILL this process at a named point of a build.

``ONESOURCE_FAULT_KILL_AT`` names the point: ``ingest:<system>/<delivery>`` (before that delivery's
commit), ``link:<entity>`` (after that entity's linkage committed, before the next), or
``dbt:<model>`` (as soon as dbt finished that model). Unset in production: the check is one lookup.
"""

from __future__ import annotations

import logging
import os
import signal
import time

ENV = "ONESOURCE_FAULT_KILL_AT"
log = logging.getLogger(__name__)


def armed() -> bool:
    return bool(os.environ.get(ENV))


def kill_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        log.warning("fault injection: SIGKILL at %s", name)
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(5)  # the signal is asynchronous: never run on past the point
