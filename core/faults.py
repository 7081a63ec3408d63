"""Fault injection for the recovery tests: SIGKILL this process at a named point of a build.

``ONESOURCE_FAULT_KILL_AT`` (``Settings.fault_kill_at``) names the point: ``ingest:<system>/<delivery>``
(before that delivery's commit), ``link:<entity>`` (after that entity's linkage committed, before the
next), or ``dbt:<model>`` (as soon as dbt finished that model). Unset in production.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from core.settings import Settings, get_settings

ENV = "ONESOURCE_FAULT_KILL_AT"  # what the recovery tests set in a build's environment
log = logging.getLogger(__name__)


def armed(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).fault_kill_at)


def kill_point(name: str, settings: Settings | None = None) -> None:
    if (settings or get_settings()).fault_kill_at == name:
        log.warning("fault injection: SIGKILL at %s", name)
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(5)  # the signal is asynchronous: never run on past the point
