"""Initial load of a simulated city: rows per second per system, and the CSV floor.

    python bench/bench_ingest.py                       # 500,000 residents
    python bench/bench_ingest.py --residents 50000
    python bench/bench_ingest.py --landing DIR         # an existing landing zone

The city is simulated with no daily deltas (the initial delivery only), then
`ingestion.pipeline.ingest` loads it in a child process (its peak RSS is the
load's own). The floor is DuckDB's plain ``read_csv`` of the same CSV files with
no checks, in another child with the same thread count: UTF-8 files directly,
the CP932 registry through DuckDB's ``encodings`` extension (``shift_jis``),
installed for the benchmark only from its wheel. Targets: whole
initial load under 3 minutes on the 2-core machine; CSV sources within 3x the
floor. Figures go to stdout and bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CSV_SYSTEMS = {"juki": "shift_jis", "houjin": "utf-8", "madoguchi": "utf-8"}

LOAD = """
import json, resource, sys, time
from pathlib import Path
from ingestion.pipeline import ingest
t = time.perf_counter()
report = ingest(Path(sys.argv[1]))
wall = time.perf_counter() - t
out = {"wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "systems": {}}
for d in report.deliveries:
    s = out["systems"].setdefault(d.system, {"rows": 0, "quarantined": 0, "seconds": 0.0, "expectations_s": 0.0})
    s["rows"] += d.rows["read"]; s["quarantined"] += d.rows["quarantined"]
    s["seconds"] += d.seconds; s["expectations_s"] += d.seconds_expectations
print(json.dumps(out))
"""

FLOOR = """
import json, sys, time, duckdb
files = json.loads(sys.argv[1]); ext = sys.argv[2]
con = duckdb.connect(config={"threads": 2, "extension_directory": ext})
if any(enc == "shift_jis" for _s, _f, enc, _h in files):
    con.execute("LOAD encodings")
out = {}
for system, path, enc, header in files:
    t = time.perf_counter()
    n = con.execute("create or replace table floor as select * from read_csv(?, all_varchar = true, "
                    f"header = {header}, encoding = '{enc}', ignore_errors = true)", [path]).fetchall()
    rows = con.execute("select count(*) from floor").fetchone()[0]
    s = out.setdefault(system, {"seconds": 0.0, "rows": 0})
    s["seconds"] += time.perf_counter() - t; s["rows"] += rows
print(json.dumps(out))
"""


def _encodings_extension(work: Path) -> Path:
    """Install DuckDB's encodings extension (about 350 MB) into a throwaway directory, offline, from its wheel."""
    import duckdb

    wheel_dir = work / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheel_dir),
                    f"duckdb-extension-encodings=={duckdb.__version__}"], check=True)
    whl = next(wheel_dir.glob("*.whl"))
    shutil.unpack_archive(whl, work / "unpacked", format="zip")
    ext_file = next((work / "unpacked").rglob("encodings.duckdb_extension"))
    ext_dir = work / "extensions"
    con = duckdb.connect(config={"extension_directory": str(ext_dir)})
    con.execute(f"INSTALL '{ext_file}'")
    con.close()
    return ext_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--landing", type=Path, help="Use this landing zone instead of simulating one.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="onesource-bench-ingest-"))
    try:
        landing = args.landing
        if landing is None:
            landing = work / "landing"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "simulator", "city", "--landing", str(landing), "--truth",
                            str(work / "truth"), "--residents", str(args.residents), "--days", "0", "--seed",
                            str(args.seed)], check=True, cwd=REPO, capture_output=True)
            print(f"simulated {args.residents:,} residents (initial delivery) in {time.perf_counter() - t:.0f} s",
                  flush=True)
        env = {"ONESOURCE_HOME": str(work / "home"), "ONESOURCE_KEYS_DIR": str(work / "keys")}
        import os

        load = subprocess.run([sys.executable, "-c", LOAD, str(landing)], cwd=REPO, capture_output=True, text=True,
                              env={**os.environ, **env})
        if load.returncode:
            raise SystemExit(load.stderr[-3000:])
        ours = json.loads(load.stdout.strip().splitlines()[-1])
        files = []
        for system, enc in CSV_SYSTEMS.items():
            for path in sorted((landing / system).rglob("*.csv")):
                header = "false" if system == "houjin" else "true"
                files.append((system, str(path), enc, header))
        ext = _encodings_extension(work)
        floor_run = subprocess.run([sys.executable, "-c", FLOOR, json.dumps(files), str(ext)], capture_output=True,
                                   text=True)
        if floor_run.returncode:
            raise SystemExit(floor_run.stderr[-3000:])
        floor = json.loads(floor_run.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        print(f"initial load: {ours['wall_s']:.1f} s wall, {ours['peak_rss_mb']:,.0f} MB peak RSS, "
              f"{size / 2**20:,.0f} MB landing zone")
        print(f"{'system':<10} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'of which GE':>11} {'floor s':>8} "
              f"{'ratio':>6} {'ratio w/o GE':>12}")
        for system, s in sorted(ours["systems"].items()):
            rate = s["rows"] / s["seconds"] if s["seconds"] else 0
            f = floor.get(system)
            ratio = f"{s['seconds'] / f['seconds']:.1f}x" if f else ""
            ratio_ge = f"{(s['seconds'] - s['expectations_s']) / f['seconds']:.1f}x" if f else ""
            s.update(rows_per_s=round(rate), floor_s=f and round(f["seconds"], 3))
            print(f"{system:<10} {s['rows']:>10,} {s['seconds']:>8.2f} {rate:>10,.0f} {s['expectations_s']:>11.2f} "
                  f"{(f['seconds'] if f else 0):>8.2f} {ratio:>6} {ratio_ge:>12}")
        csv_ours = sum(ours["systems"][s]["seconds"] for s in CSV_SYSTEMS if s in ours["systems"])
        csv_floor = sum(floor[s]["seconds"] for s in CSV_SYSTEMS if s in floor)
        print(f"CSV sources together: {csv_ours:.2f} s vs floor {csv_floor:.2f} s = {csv_ours / csv_floor:.1f}x")
        result = {"residents": args.residents if args.landing is None else None, "landing_mb": round(size / 2**20),
                  "load": ours, "floor": floor, "csv_ratio": round(csv_ours / csv_floor, 2)}
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "ingest.json").write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
