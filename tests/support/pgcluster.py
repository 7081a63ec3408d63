"""A PostgreSQL cluster of the test's own: scram-sha-256 authentication, pgaudit preloaded, the server log in
CSV. The machine's own server trusts local connections, so authentication and audit are proven here."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def missing() -> str | None:
    if not (PG_BIN / "initdb").exists():
        return "PostgreSQL 15's server binaries are not installed"
    if not Path("/usr/lib/postgresql/15/lib/pgaudit.so").exists():
        return "pgaudit is not installed (apt-get install postgresql-15-pgaudit; make test installs it)"
    return None


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def cluster() -> Iterator[str]:
    """Start the cluster; yields the superuser's DSN (database ``lake``); stops and removes it after. The test
    skips, saying why, where PostgreSQL 15 or pgaudit is missing."""
    if missing():
        pytest.skip(missing())
    root = Path(tempfile.mkdtemp(prefix="onesource-pg-"))
    password = secrets.token_urlsafe(16)
    port = free_port()
    (root / "pw").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    data = root / "data"
    try:
        subprocess.run(_as_server_user([str(PG_BIN / "initdb"), "-D", str(data), "-U", "admin", "--auth-local=scram-sha-256",
                                        "--auth-host=scram-sha-256", f"--pwfile={root / 'pw'}"]),
                       check=True, capture_output=True)
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                       "shared_preload_libraries = 'pgaudit'\nlogging_collector = on\nlog_destination = 'csvlog'\n"
                       "log_directory = 'log'\npassword_encryption = 'scram-sha-256'\n")
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
                                        "start"]), check=True, capture_output=True)
        import psycopg

        admin = f"postgresql://admin:{password}@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute("create database lake")
        yield f"postgresql://admin:{password}@127.0.0.1:{port}/lake"
    finally:
        if data.exists():
            subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
