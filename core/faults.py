"""Fault injection for the recovery tests: SIGKILL this process at a named point of a build.

``ONESOURCE_FAULT_KILL_AT`` names the point: ``ingest:<system>/<delivery>``
(before that delivery's commit), ``link:<entity>`` (after that entity's linkage committed, before the
next), or ``dbt:<model>`` (as soon as dbt finished that model). Unset in production. A test knob, not a setting:
it is read here alone, from its own settings class, and the platform's settings object does not carry it.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV = "ONESOURCE_FAULT_KILL_AT"  # what the recovery tests set in a build's environment
log = logging.getLogger(__name__)


class FaultKnobs(BaseSettings):
    """The recovery tests' knob, read when a point is reached (never at import)."""

    model_config = SettingsConfigDict(env_prefix="ONESOURCE_FAULT_", extra="ignore", env_ignore_empty=True)
    kill_at: str | None = Field(default=None, description="SIGKILL the process at this named point.")


def armed() -> bool:
    return bool(FaultKnobs().kill_at)


def kill_point(name: str) -> None:
    if FaultKnobs().kill_at == name:
        log.warning("fault injection: SIGKILL at %s", name)
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(5)  # the signal is asynchronous: never run on past the point
