"""Kept only for tests/api/ until its rewrite: the helpers live in ``tests.support`` (``commands``, ``waiting``).
Import them from there; nothing else imports this module."""

from tests.support.commands import popen_cli, run_cli, simulate_cli  # noqa: F401
from tests.support.waiting import wait_until  # noqa: F401
