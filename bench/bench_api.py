"""Consent-checked person lookups over loopback, next to a trivial endpoint of the same app.

    python bench/bench_api.py                          # a 50,000-resident city, built first
    python bench/bench_api.py --home DIR               # a home already built (onesource demo / link)
    python bench/bench_api.py --connections 8 16 32 --duration 20

A private client registered for ``honnin_kakunin_jusho`` (a consent-based purpose) is given consent
by ``--consents`` residents; `onesource serve` runs one uvicorn worker; wrk (Debian's package, from
one thread, on the other core) cycles through those residents. Every request authenticates the
key, checks the purpose binding and the live consent in the store, reads the served release and
waits for its access-log entry to be committed (SQLite, synchronous=FULL) before it answers. The
same run then measures ``GET /health``. After each lookup run the access log must hold one new entry per
request wrk counted (plus at most one per connection still in flight when wrk stopped). Target: 1,500 requests/s with p99 under 25 ms.
Figures go to stdout and bench/results/api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ONESOURCE = [sys.executable, "-m", "cli"]


def _run(cmd: list[str], env: dict) -> None:
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def build_city(residents: int, root: Path, env: dict) -> None:
    landing, truth = root / "landing", root / "truth"
    t = time.perf_counter()
    _run([sys.executable, "-m", "simulator", "city", "--landing", str(landing), "--truth", str(truth), "--residents", str(residents),
          "--days", "1"], env)
    _run([*ONESOURCE, "ingest", "--landing", str(landing), "--no-expectations"], env)
    _run([*ONESOURCE, "link"], env)
    print(f"built a {residents:,}-resident city in {time.perf_counter() - t:.0f} s", flush=True)


def wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return shutil.which("wrk") or "wrk"
    sys.exit("wrk is missing: apt-get install wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_wrk(url: str, connections: int, seconds: int, env: dict, script: Path | None = None) -> dict:
    cmd = [wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], env=env, capture_output=True, text=True, check=True).stdout
    if script:
        figures = json.loads(out.split("JSON ", 1)[1].splitlines()[0])
    else:
        def ms(label: str) -> float:
            value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
            return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        figures = {"requests": int(re.search(r"(\d+) requests in", out).group(1)), "p50_ms": ms("50%"),
                   "p99_ms": ms("99%"), "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx.*?(\d+)", out)) else 0}
    figures["rps"] = round(figures["requests"] / seconds, 1)
    figures["connections"] = connections
    return figures


def consenting_client(store, consents: int, ids_file: Path) -> tuple[list[str], str]:
    """A private client for ``honnin_kakunin_jusho`` (no rate limit to speak of), given consent by
    ``consents`` residents of the served marts; their ids go to ``ids_file`` for wrk. Returns (ids, key)."""
    from api import consent
    from api.clients import register_client
    from core import lake

    con = lake.connect(read_only=True)
    ids = [r[0] for r in con.execute("select person_id from lake.marts.dim_person order by hash(person_id) limit ?",
                                     [consents]).fetchall()]
    con.close()
    store.create_schema()
    client, key = register_client(store, "bench", "private", "ベンチマーク株式会社", ["honnin_kakunin_jusho"],
                                  1e9, 10**9)
    for pid in ids:
        consent.grant(store, pid, "honnin_kakunin_jusho", client.client_id, None, "bench", "https://bench")
    ids_file.write_text("\n".join(ids) + "\n")
    return ids, key


def start_server(env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """`onesource serve` (one worker) on a free port, once it serves a release; returns (process, base URL).
    A benchmark stopped by a signal still stops its server: SIGTERM unwinds through the callers' ``finally``."""
    import httpx

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    port = free_port()
    # the load comes from one address, as through the city's gateway: the per-address limit (before any
    # authentication) would measure the limiter, not the API; each client's own rate still applies
    env = {"ONESOURCE_API_ADDRESS_RATE_PER_SECOND": "1000000", **env}
    server = subprocess.Popen([*ONESOURCE, "serve", "--port", str(port)], env=env, stdout=log.open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/v1/status").json().get("release"):
                    return server, base
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    except BaseException:  # stopped while the server was starting: stop it too
        server.kill()
        raise
    server.kill()
    sys.exit(f"the API did not start: {log.read_text()[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=50_000)
    ap.add_argument("--home", type=Path, help="A built platform home to serve (default: build a city).")
    ap.add_argument("--consents", type=int, default=2000)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, nargs="+", default=[16])
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    env = {**os.environ, "ONESOURCE_KEYS_DIR": str(tmp / "keys"), "ONESOURCE_API_STORE_FILE": str(tmp / "api.sqlite")}
    env.pop("ONESOURCE_API_STORE_DSN", None)
    if args.home:
        env["ONESOURCE_HOME"] = str(args.home)
    else:
        env["ONESOURCE_HOME"] = str(tmp / "home")
        build_city(args.residents, tmp, env)
    os.environ.update(env)

    from api.store import Store
    from core import lake

    con = lake.connect(read_only=True)
    persons = con.execute("select count(*) from lake.marts.dim_person").fetchone()[0]
    con.close()
    store = Store.from_settings()
    ids, key = consenting_client(store, args.consents, tmp / "ids.txt")
    server, base = start_server(env, tmp / "serve.log")
    try:
        wrk_env = {**env, "IDS_FILE": str(tmp / "ids.txt"), "API_KEY": key}
        script = HERE / "wrk_persons.lua"
        run_wrk(base, 8, 3, wrk_env, script)  # warm up
        results = {"persons_served": persons, "consents": len(ids), "lookups": [], "health": []}
        for c in args.connections:
            time.sleep(1)  # the requests still in flight when the last run stopped are committed by now
            before = store.one("select count(*) from access_log")[0]
            fig = run_wrk(base, c, args.duration, wrk_env, script)
            time.sleep(1)
            logged = store.one("select count(*) from access_log")[0] - before
            fig["access_log_entries"] = logged
            # wrk stops with up to one request per connection in flight: those are logged (the entry is
            # committed before the answer leaves) but not counted by wrk
            fig["every_request_logged"] = fig["requests"] <= logged <= fig["requests"] + c and fig["non2xx"] == 0
            results["lookups"].append(fig)
            results["health"].append(run_wrk(f"{base}/health", c, args.duration, env))
    finally:
        server.terminate()
        server.wait(timeout=30)
        store.close()

    print(f"\n{persons:,} persons served, {len(ids):,} with consent; one uvicorn worker, wrk -t1, "
          f"{args.duration} s per run")
    print(f"{'endpoint':<34}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}  logged")
    for look, health in zip(results["lookups"], results["health"]):
        print(f"{'GET /v1/persons/{id} (consent)':<34}{look['connections']:>6}{look['rps']:>10,.0f}"
              f"{look['p50_ms']:>9.2f}{look['p99_ms']:>9.2f}{look['non2xx']:>9}  "
              f"{look['access_log_entries']:,}/{look['requests']:,}")
        print(f"{'GET /health':<34}{health['connections']:>6}{health['rps']:>10,.0f}{health['p50_ms']:>9.2f}"
              f"{health['p99_ms']:>9.2f}{health['non2xx']:>9}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "api.json").write_text(json.dumps(results, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)
    if not all(r["every_request_logged"] for r in results["lookups"]):
        sys.exit("some lookups were not logged or failed")


if __name__ == "__main__":
    main()
