"""The API under steady load while a full refresh runs on the same machine.

    python bench/bench_refresh_load.py --root DIR      # a city kept by bench_city.py --keep DIR

One uvicorn worker serves consent-checked person lookups (as in bench_api.py) to wrk in 10-second
windows while `onesource link` (staging, a full relink, the marts, a new release) runs in another
process (at a lower CPU priority, ``--refresh-nice``, in a session of its own whose autogroup is niced as well,
as batch work beside an API should run: see ``batch_priority``). Reported
per window and overall: requests per second, p50/p99, errors (non-2xx and socket errors), and which release
was served. Targets: zero errors, and p99 under 50 ms in every window, the one that swaps the release in
included. ``--store-dir`` puts the API's store (whose access log is fsynced at every commit) elsewhere, to
tell the disk's share from the CPU's.
Figures go to stdout and bench/results/refresh_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_api import ONESOURCE, consenting_client, run_wrk, start_server  # noqa: E402


def batch_priority(nice: int) -> None:
    """Lower this process's CPU priority as a batch job's. With the kernel's autogroup scheduling (Linux's
    default for desktop and many server kernels, ``/proc/sys/kernel/sched_autogroup_enabled``) the CPU is shared
    between sessions first and a process's own nice counts only inside its session: ``nice -n 10`` alone left
    the refresh an equal share beside the API (p99 up to 200 ms). So the refresh runs in a session of its own
    (``start_new_session``) whose autogroup is niced too; a deployment does the same with its service
    manager (systemd ``Nice=`` with ``CPUWeight=``)."""
    os.nice(nice)
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:  # no autogroups on this kernel: the process's own nice is the whole story
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True, help="Folder kept by bench_city.py --keep.")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--consents", type=int, default=2000)
    ap.add_argument("--store-dir", type=Path, help="Folder of the API's store (its access log commits with fsync "
                    "on every group commit; default: a temporary folder beside the lake, on the same disk).")
    ap.add_argument("--refresh-nice", type=int, default=10,
                    help="Niceness of the refresh process (batch work yields the CPU to the API, as a deployment "
                    "sharing one machine would run it; 0: equal priority).")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    env = {**os.environ, "ONESOURCE_HOME": str(args.root / "home"), "ONESOURCE_KEYS_DIR": str(args.root / "keys"),
           "ONESOURCE_API_STORE_FILE": str((args.store_dir or tmp) / "api.sqlite")}
    for var in ("ONESOURCE_API_STORE_DSN", "ONESOURCE_CATALOG_DSN"):
        env.pop(var, None)
    os.environ.update(env)

    import httpx

    from api.store import Store

    store = Store.from_settings()
    _, key = consenting_client(store, args.consents, tmp / "ids.txt")
    server, base = start_server(env, tmp / "serve.log")
    windows = []
    try:
        first = httpx.get(f"{base}/v1/status").json()["release"]
        wrk_env = {**env, "IDS_FILE": str(tmp / "ids.txt"), "API_KEY": key}
        script = HERE / "wrk_persons.lua"
        t0 = time.perf_counter()
        refresh = subprocess.Popen([*ONESOURCE, "link"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=(tmp / "refresh.log").open("w"), start_new_session=True,
                                   preexec_fn=lambda: batch_priority(args.refresh_nice))
        while True:
            running = refresh.poll() is None
            fig = run_wrk(base, args.connections, 10, wrk_env, script)
            fig["release"] = httpx.get(f"{base}/v1/status").json()["release"]["release_id"]
            fig["during_refresh"] = running
            windows.append(fig)
            print(f"{time.perf_counter() - t0:6.0f} s  {'refreshing' if running else 'after':<10} "
                  f"{fig['rps']:>7,.0f} req/s  p50 {fig['p50_ms']:6.2f} ms  p99 {fig['p99_ms']:7.2f} ms  "
                  f"errors {fig['non2xx'] + fig['errors']}  release {fig['release']}", flush=True)
            if not running:
                break
        refresh_seconds = time.perf_counter() - t0
        if refresh.returncode != 0:
            sys.exit(f"the refresh failed: {(tmp / 'refresh.log').read_text()[-3000:]}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        store.close()
    during = [w for w in windows if w["during_refresh"]]
    summary = {"refresh_nice": args.refresh_nice, "store": str(args.store_dir or "beside the lake"), "release_before": first["release_id"], "release_after": windows[-1]["release"],
               "refresh_seconds": round(refresh_seconds, 1), "windows": windows,
               "errors": sum(w["non2xx"] + w["errors"] for w in windows),
               "p99_ms_during_refresh_max": max((w["p99_ms"] for w in during), default=None),
               "rps_during_refresh_min": min((w["rps"] for w in during), default=None)}
    print(f"refresh {summary['refresh_seconds']} s; release {summary['release_before']} -> "
          f"{summary['release_after']}; errors {summary['errors']}; worst p99 during the refresh "
          f"{summary['p99_ms_during_refresh_max']} ms")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "refresh_load.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
