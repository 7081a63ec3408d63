"""``onesource ui``: the Dagster UI (webserver and daemon) on this platform's instance.

The instance lives in ``$ONESOURCE_HOME/dagster``: SQLite storage by default, PostgreSQL when
``ONESOURCE_DAGSTER_DSN`` names a database. Started in its own process group, so stopping it stops
the webserver, the daemon and the code server together.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from core.environment import scoped_environ
from core.settings import Settings, get_settings
from dagster_project import internals

LOCATION = "dagster_project.definitions"


def instance_yaml(settings: Settings) -> str:
    # one run at a time: the embedded SQLite lake catalog takes one writer; no onboarding pop-up for the data team
    lines = ["telemetry:", "  enabled: false", "nux:", "  enabled: false", "run_queue:", "  max_concurrent_runs: 1"]
    # the URL comes from the environment (never written here); see storage_env for its driver
    url_env = STORAGE_URL_ENV if settings.dagster_dsn is not None else None
    base = settings.home / "dagster" / "storage"
    if settings.framework_path == "fast":
        # Dagster's layouts with event logs that keep their connections (and on SQLite do not fsync every event)
        lines += internals.storage_yaml(base, url_env)
    elif url_env is not None:  # Dagster's own storage, the same layouts
        lines += ["storage:", "  postgres:", "    postgres_url:", f"      env: {url_env}"]
    else:
        lines += ["storage:", "  sqlite:", f"    base_dir: {base}"]
    return "\n".join(lines) + "\n"


STORAGE_URL_ENV = "ONESOURCE_DAGSTER_STORAGE_URL"  # derived from ONESOURCE_DAGSTER_DSN, set by the platform


def storage_env(settings: Settings) -> dict[str, str]:
    """The environment Dagster's PostgreSQL storage reads its URL from. Its event log sends
    `NOTIFY run_events, <id>` with a bound parameter, which psycopg 3 (SQLAlchemy's default PostgreSQL driver)
    sends to the server as `$1` and PostgreSQL rejects: every run failed to start. The URL names psycopg2."""
    if settings.dagster_dsn is None:
        return {}
    dsn = settings.dagster_dsn.get_secret_value()
    scheme, rest = dsn.split("://", 1)
    return {STORAGE_URL_ENV: f"postgresql+psycopg2://{rest}" if scheme in ("postgresql", "postgres") else dsn}


@contextlib.contextmanager
def open_instance(settings: Settings | None = None) -> Iterator[dg.DagsterInstance]:
    """The platform's Dagster instance in this process (``onesource build``, benchmarks, tests)."""
    settings = settings or get_settings()
    home = ensure_instance(settings)
    extra = storage_env(settings)
    with scoped_environ(extra):  # only while the storage reads its configuration
        instance = dg.DagsterInstance.from_config(str(home))
    with instance:
        yield instance


def ensure_instance(settings: Settings | None = None) -> Path:
    """Write ``dagster.yaml`` for the configured storage; returns DAGSTER_HOME."""
    settings = settings or get_settings()
    home = settings.home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(instance_yaml(settings), encoding="utf-8")
    return home


def env(settings: Settings | None = None, landing: Path | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    out = {**os.environ, "DAGSTER_HOME": str(ensure_instance(settings)), **storage_env(settings)}
    if landing is not None:
        out["ONESOURCE_LANDING"] = str(landing)
    return out


def command(port: int, host: str = "127.0.0.1") -> list[str]:
    dagster = str(Path(sys.executable).parent / "dagster")
    return [dagster, "dev", "-m", LOCATION, "-h", host, "-p", str(port)]


def spawn(port: int, settings: Settings | None = None, landing: Path | None = None,
          log: Path | None = None) -> subprocess.Popen:
    """``dagster dev`` (webserver, daemon, code server, and the runs they launch) in a process group of its own."""
    out = open(log, "wb") if log else None  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(command(port), env=env(settings, landing), stdout=out,
                            stderr=subprocess.STDOUT if log else None, start_new_session=True)


def start(port: int, landing: Path | None = None, settings: Settings | None = None,
          log: Path | None = None) -> subprocess.Popen:
    """Start webserver and daemon in a new process group; returns once the UI answers."""
    proc = spawn(port, settings, landing, log)
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
    stop(proc)
    raise TimeoutError(f"the Dagster UI did not answer on port {port}")


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def serve(port: int, settings: Settings | None = None, landing: Path | None = None) -> int:
    """``onesource ui``: run the UI until it ends or until the first SIGTERM or SIGINT (Ctrl-C), then stop the whole
    process group; returns the exit status (``128 + signal`` after SIGTERM, 0 after Ctrl-C, else Dagster's).

    The signal handler only records the signal and passes SIGTERM on to the group: the waiting and the SIGKILL after
    the grace period happen here, in the main loop. Stopping inside the handler deadlocked: the handler ran within
    ``Popen.wait``, which holds the Popen's wait lock, and its own ``wait`` after the SIGKILL blocked on that lock
    for ever, so one signal never ended the wrapper."""
    proc = spawn(port, settings, landing)
    received: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        received.append(signum)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        while proc.poll() is None and not received:
            time.sleep(0.2)
    finally:
        stop(proc)  # whatever ended the wait, nothing of the group stays behind
        for s, handler in previous.items():
            signal.signal(s, handler)
    if received:
        return 0 if received[0] == signal.SIGINT else 128 + received[0]
    return proc.returncode


def group_running(pgid: int) -> bool:
    """Any process of the group still running (a zombie only waits for its parent to collect it)."""
    out = subprocess.run(["ps", "-eo", "pgid=,stat="], capture_output=True, text=True).stdout.splitlines()
    return any(int(g) == pgid and not st.startswith("Z") for g, st in (line.split() for line in out if line.strip()))


def stop(proc: subprocess.Popen, grace: float = 8.0) -> None:
    """Stop the UI through its process group: SIGTERM to every member (webserver, daemon, code server, run
    workers), then SIGKILL to whatever is still there after ``grace`` seconds. Nothing of it stays behind."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()
        if not group_running(pgid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
