"""Time `onesource simulate` at city scale and report wall time, peak memory and output size.

    python bench/bench_simulate.py                  # 50,000 and 500,000 residents, 30 days
    python bench/bench_simulate.py --residents 50000 --days 30

Each run is a separate process (so peak RSS is that run's own); figures go to stdout
and to bench/results/simulate.json. Targets: 500,000 residents with 30 days
in under 5 minutes and under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(residents: int, days: int, seed: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"onesource-bench-{residents}-"))
    cmd = [sys.executable, "-m", "onesource.simulator", "city", "--landing", str(work / "landing"),
           "--truth", str(work / "truth"), "--residents", str(residents), "--days", str(days), "--seed", str(seed)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    size = sum(p.stat().st_size for p in (work / "landing").rglob("*") if p.is_file())
    out = {"residents": residents, "days": days, "wall_s": round(wall, 1),
           "peak_rss_mb": round(max(peak_kb, before) / 1024), "landing_mb": round(size / 2**20, 1),
           "summary": res.stdout.strip().splitlines()[-1]}
    shutil.rmtree(work)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, nargs="*", default=[50_000, 500_000])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    results = []
    for n in args.residents:
        r = run(n, args.days, args.seed)
        results.append(r)
        print(f"simulate {r['residents']:>7,} residents, {r['days']} days: {r['wall_s']:>7.1f} s wall, "
              f"{r['peak_rss_mb']:>6,} MB peak RSS, {r['landing_mb']:>7.1f} MB landing zone", flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "simulate.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
