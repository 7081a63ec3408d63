"""The whole city, end to end: a full build, then every daily refresh in turn.

    python bench/bench_city.py                         # 500,000 residents, 30 daily deltas
    python bench/bench_city.py --residents 50000 --days 5

The simulator writes the initial delivery and the daily deltas; the benchmark opens the landing zone
one day at a time (hard links), as the departments deliver. The full build is the initial delivery, run
through the refresh sequence (refresh/sequence.py) one stage per process (`onesource refresh --stage`),
with each stage's wall time and peak memory (the child's own ru_maxrss): ingest (with the contracts'
expectations), dbt staging, a full linkage (Splink trained by EM), the marts, open data and dashboards, a
release. Each daily refresh is that day's deliveries, run one of two ways (`--path`, default alternating
day by day so both see the same kind of days):

- cli: `onesource refresh` in one process (ingest, incremental staging, incremental linkage, marts, publish,
  release);
- dagster: as the data team runs it: the sensors tick and the run they request (`daily_refresh`: the day's
  deliveries, staging, incremental linkage, marts, open data, dashboards, release) runs in a process of its own
  as the daemon's run worker would (bench/dagster_day.py); the tick after it, which requests nothing, is
  reported on its own.

Then the nightly housekeeping (`onesource maintain`: the retention policy), reported on its own. The lake's
size on disk is reported after each step; at the end, the cost of a tick and of a run when nothing new
arrived. Targets: full build under 10 minutes and 8 GB; each daily refresh under 60 seconds; the Dagster
path within 20% of `onesource refresh`. Figures go to stdout and bench/results/city-<catalog>.json.

    python bench/bench_city.py --framework-path public   # the same on the frameworks' public API alone

compares the frameworks' internals (core/dbt_internals.py, dagster_project/internals.py) with their public
paths: figures in bench/results/city-<catalog>-public.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from refresh.sequence import DBT_STAGES, SEQUENCE

HERE = Path(__file__).resolve().parent
ONESOURCE = [sys.executable, "-m", "cli"]
DAGSTER_DAY = [sys.executable, str(HERE / "dagster_day.py")]


def run_stage(name: str, cmd: list[str], env: dict, keep_stdout: bool = False) -> dict:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{name} failed ({code}):\n{stderr[-3000:]}\n{stdout[-3000:]}")
    step = {"stage": name, "seconds": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024)}
    # a one-process refresh reports its own stages: "stage <name> <seconds>s"
    parts = re.findall(r"^stage (\w+) ([\d.]+)s$", stdout, flags=re.M)
    if parts:
        step["parts"] = {n: float(v) for n, v in parts}
    if keep_stdout:
        step["stdout"] = stdout
    return step


def verify(env: dict, root: Path) -> dict:
    """Checksums of every mart, staging and identity table after the incremental refreshes, against the same
    after `dbt build --full-refresh` of every model over the same deliveries and identity state."""
    def checksums() -> dict:
        out = {}
        for schema in ("marts", "staging", "identity"):
            text = subprocess.run([*ONESOURCE, "checksum", "--schema", schema], env=env, check=True,
                                  capture_output=True, text=True).stdout
            out.update({f"{schema}.{line.split()[0]}": line.split()[1:] for line in text.splitlines() if line})
        return out

    before = checksums()
    every_model = " ".join(s.dbt_select for s in DBT_STAGES)
    rebuild = run_stage("full-refresh", [*ONESOURCE, "dbt", "build", "--full-refresh", "--select", *every_model.split()],
                        env)
    after = checksums()
    differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    print(f"verify: {len(before)} tables checksummed after the refreshes and after a full rebuild "
          f"({rebuild['seconds']} s): {'identical' if not differ else 'DIFFERENT: ' + ', '.join(differ)}", flush=True)
    return {"tables": len(before), "different": differ, "rebuild_seconds": rebuild["seconds"]}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def open_day(source: Path, live: Path, day: str | None) -> None:
    """Expose one day's deliveries (or the initial one) in the live landing zone, as hard links."""
    for system in source.iterdir():
        days = sorted(p.name for p in system.iterdir() if p.is_dir() and p.name.isdigit())
        if not days:  # the contract database: there from the start
            if not (live / system.name).exists():
                shutil.copytree(system, live / system.name)
            continue
        pick = days[0] if day is None else day
        if pick in days and not (live / system.name / pick).exists():
            shutil.copytree(system / pick, live / system.name / pick, copy_function=os.link)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=500_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--keep", type=Path, help="Keep the home in this folder (default: a temporary one).")
    ap.add_argument("--source", type=Path, help="Reuse a landing zone simulated before (skips the simulation).")
    ap.add_argument("--refreshes", type=int, help="Stop after this many daily refreshes (default: every day).")
    ap.add_argument("--resume", action="store_true", help="Go on with the next days in a home kept before (--keep), "
                                                          "with no new full build.")
    ap.add_argument("--keep-days", type=float, default=0.0,
                    help="`onesource maintain --keep-days` after each refresh (default 0: the simulated days pass "
                         "in minutes, so the snapshots between releases count as aged out).")
    ap.add_argument("--path", choices=("cli", "dagster", "alternate"), default="alternate",
                    help="How each daily refresh runs: `onesource refresh`, the Dagster path (sensors, then a run "
                         "per request, each in its own process), or the two day by day (default).")
    ap.add_argument("--encrypted", action="store_true",
                    help="The lake's data files encrypted (DuckLake's encrypted mode, on by default with a PostgreSQL "
                         "catalog), on the embedded catalog: what the encryption costs.")
    ap.add_argument("--catalog", choices=("postgres", "sqlite"), default="postgres",
                    help="The lake's catalog: the platform's own PostgreSQL server under the home (the default) or "
                         "the single-operator SQLite file.")
    ap.add_argument("--framework-path", choices=("fast", "public"), default="fast",
                    help="ONESOURCE_FRAMEWORK_PATH for every step (core/settings.py): the frameworks' internals the "
                         "platform was measured faster with (the default), or their public API alone; a public run's "
                         "figures go to city-<catalog>-public.json, beside the fast ones.")
    ap.add_argument("--verify", action="store_true",
                    help="After the refreshes, rebuild every dbt model from scratch (--full-refresh) on the same "
                         "deliveries and identity state, and compare every mart's row-level checksum.")
    args = ap.parse_args()
    if args.resume and not (args.keep and args.source):
        ap.error("--resume needs --keep and --source")

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-city-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ONESOURCE_HOME": str(root / "home"), "ONESOURCE_KEYS_DIR": str(root / "keys"),
           "ONESOURCE_LANDING": str(root / "landing")}  # what the sensors watch
    for var in ("ONESOURCE_CATALOG_DSN", "ONESOURCE_TRUTH_DIR", "ONESOURCE_ENCRYPT_DATA"):
        env.pop(var, None)
    env["ONESOURCE_CATALOG"] = args.catalog
    env["ONESOURCE_FRAMEWORK_PATH"] = args.framework_path
    figures = f"city-{args.catalog}{'-public' if args.framework_path == 'public' else ''}.json"
    if args.encrypted:
        env["ONESOURCE_ENCRYPT_DATA"] = "true"
    source, live = args.source or root / "source", root / "landing"
    live.mkdir(exist_ok=True)
    results: dict = {"residents": args.residents, "days": args.days, "catalog": args.catalog,
                     "encrypted": args.encrypted, "framework_path": args.framework_path, "simulate": None,
                     "full": [], "daily": []}
    if args.resume:
        previous = HERE / "results" / figures
        if previous.exists() and json.loads(previous.read_text()).get("residents") == args.residents:
            results = json.loads(previous.read_text())  # the days done before, of this same city
    elif args.source is None:
        results["simulate"] = run_stage("simulate", [sys.executable, "-m", "simulator", "city", "--landing", str(source), "--truth",
                                                     str(root / "truth"), "--residents", str(args.residents),
                                                     "--days", str(args.days)], env)
        print(f"simulated {args.residents:,} residents, {args.days} days in {results['simulate']['seconds']} s",
              flush=True)
    lake_dir = root / "home" / "lake"

    timings = root / "dbt_timings"
    timings.mkdir(exist_ok=True)

    def stage(kind: str, name: str, cmd: list[str]) -> dict:
        out = run_stage(name, cmd, env)
        run_results = root / "home" / "dbt" / "target" / "run_results.json"
        if "dbt" in cmd and run_results.exists():  # per-model times, for finding what a stage spends
            shutil.copy(run_results, timings / f"{kind}-{name}.json")
        return out

    def refresh(kind: str, stages: list[tuple[str, list[str]]]) -> dict:
        out = [stage(kind, name, cmd) for name, cmd in stages]
        step = {"stages": out, "seconds": round(sum(s["seconds"] for s in out), 1),
                "peak_rss_mb": max(s["peak_rss_mb"] for s in out), "lake_mb": round(du(lake_dir) / 2**20)}
        parts = [(n, v) for s in out for n, v in (s.get("parts") or {s["stage"]: s["seconds"]}).items()]
        print(f"{kind:<10} {step['seconds']:>7.1f} s  peak {step['peak_rss_mb']:>6,} MB  "
              f"lake {step['lake_mb']:>6,} MB  " + "  ".join(f"{n} {v}" for n, v in parts), flush=True)
        return step

    open_day(source, live, None)
    if not args.resume:
        results["full"] = refresh("full", [
            (name, [*ONESOURCE, "refresh", "--landing", str(live), "--full-relink", "--stage", name])
            for name in (s.name for s in SEQUENCE)])
    days = sorted({p.name for p in source.glob("*/*") if p.is_dir() and p.name.isdigit()})[1:]
    if args.resume:  # the days already open in the live landing zone are done
        done = {p.name for p in live.glob("*/*") if p.is_dir() and p.name.isdigit()}
        days = [d for d in days if d not in done]
    days = days[:args.refreshes] if args.refreshes else days
    cursors = root / "sensor_cursors.json"

    def dagster_day(day: str) -> dict:
        """The sensors tick; each run they request runs in its own process, as the daemon's run worker would; until a
        tick requests nothing (that last tick is the daemon's idle cost, reported apart from the day's)."""
        out, idle = [], None
        for _ in range(4):
            tick = run_stage("tick", [*DAGSTER_DAY, "tick", str(cursors)], env, keep_stdout=True)
            told = json.loads(tick.pop("stdout").strip().splitlines()[-1])
            # the daemon evaluates sensors in its long-lived process: count the evaluation, not our start-up
            tick = {**tick, "seconds": told["seconds"], "process_seconds": tick["seconds"]}
            if not told["requests"]:
                idle = tick
                break
            out.append(tick)
            for r in told["requests"]:
                out.append(run_stage(f"{r['job']}{'@' + r['partition'] if r['partition'] else ''}",
                                     [*DAGSTER_DAY, "run", r["job"], r["partition"], ",".join(r["assets"])], env))
        step = {"stages": out, "idle_tick": idle, "seconds": round(sum(s["seconds"] for s in out), 1),
                "peak_rss_mb": max(s["peak_rss_mb"] for s in out), "lake_mb": round(du(lake_dir) / 2**20)}
        print(f"{day:<10} {step['seconds']:>7.1f} s  peak {step['peak_rss_mb']:>6,} MB  lake {step['lake_mb']:>6,} MB  "
              "dagster: " + "  ".join(f"{s['stage']} {s['seconds']}" for s in out)
              + (f"  (then an idle tick {idle['seconds']} s)" if idle else ""), flush=True)
        return step

    for i, day in enumerate(days):
        open_day(source, live, day)
        # the daily refresh as it runs in production, one way or the other; then the nightly housekeeping,
        # reported on its own
        path = args.path if args.path != "alternate" else ("cli", "dagster")[i % 2]
        if path == "cli":
            step = refresh(day, [("refresh", [*ONESOURCE, "refresh", "--landing", str(live)])])
        else:
            step = dagster_day(day)
        step["path"] = path
        housekeeping = run_stage("maintain", [*ONESOURCE, "maintain", "--keep-days", str(args.keep_days)], env)
        step["maintain"] = {**housekeeping, "lake_mb": round(du(lake_dir) / 2**20)}
        print(f"{'':<10} maintain {housekeeping['seconds']} s, lake {step['maintain']['lake_mb']:,} MB", flush=True)
        step["day"] = day
        results["daily"].append(step)
    if args.verify:
        results["verify"] = verify(env, root)
    for path in ("cli", "dagster"):
        daily = sorted(d["seconds"] for d in results["daily"] if d.get("path", "cli") == path)
        if daily:
            print(f"daily refreshes via {path}: {len(daily)}, median {daily[len(daily) // 2]:.1f} s, "
                  f"min {daily[0]:.1f} s, max {daily[-1]:.1f} s", flush=True)
    if days and args.path != "cli":  # the cost of looking when nothing new arrived
        idle_tick = run_stage("tick", [*DAGSTER_DAY, "tick", str(cursors)], env, keep_stdout=True)
        told = json.loads(idle_tick.pop("stdout").strip().splitlines()[-1])
        started, idle_tick["seconds"] = told["requests"], told["seconds"]
        day = days[-1]
        idle_run = run_stage("ingest_juki", [*DAGSTER_DAY, "run", "ingest_juki", f"{day[:4]}-{day[4:6]}-{day[6:]}"],
                             env)
        results["nothing_new"] = {"tick": idle_tick, "runs_requested": started, "ingest_run": idle_run}
        print(f"nothing new: a tick of every sensor {idle_tick['seconds']} s, {len(started)} runs requested; "
              f"a juki run over a day already loaded {idle_run['seconds']} s", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / figures).write_text(json.dumps(results, indent=1))
    subprocess.run([*ONESOURCE, "catalog", "stop"], env=env, capture_output=True)  # the embedded server, if any
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
