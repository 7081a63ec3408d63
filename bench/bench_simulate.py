"""Time `onesource simulate` at city scale and report wall time, peak memory and output size.

    python bench/bench_simulate.py                  # 50,000 and 500,000 residents, 30 days
    python bench/bench_simulate.py --residents 50000 --days 30

Each run is a separate process (so peak RSS is that run's own); figures go to stdout
and to bench/results/simulate.json. Targets: 500,000 residents with 30 days
in under 5 minutes and under 4 GB.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

from simulator.config import SimConfig  # noqa: E402
from simulator.world import age_structure  # noqa: E402


def structure(registry: Path, on: dt.date) -> dict:
    """The simulated registry's age structure on its last day next to the published one the simulator is
    calibrated to (simulator/src/simulator/data/ichikawa_age_structure.csv), and persons per household."""
    ages, households = [], set()
    with registry.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            b = dt.date.fromisoformat(r["birth"])
            ages.append(on.year - b.year - ((on.month, on.day) < (b.month, b.day)))
            households.add(r["setai"])
    n = len(ages)
    bands = age_structure()
    simulated = {f"{lo}-{hi}": round(sum(lo <= a <= hi for a in ages) / n, 4) for lo, hi, _, _ in bands}
    published = {f"{lo}-{hi}": round(s, 4) for lo, hi, s, _ in bands}
    broad = {name: (round(sum(lo <= a <= hi for a in ages) / n, 4),
                    round(sum(s for b0, b1, s, _ in bands if lo <= b0 and b1 <= hi), 4))
             for name, lo, hi in (("0-14", 0, 14), ("15-64", 15, 64), ("65+", 65, 104))}
    return {"residents": n, "persons_per_household": round(n / len(households), 2), "broad_simulated_published": broad,
            "bands_simulated": simulated, "bands_published": published}


def run(residents: int, days: int, seed: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"onesource-bench-{residents}-"))
    cmd = [sys.executable, "-m", "simulator", "city", "--landing", str(work / "landing"),
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
           "summary": res.stdout.strip().splitlines()[-1],
           "structure": structure(work / "truth" / "registry_truth.csv", SimConfig().start + dt.timedelta(days=days))}
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
        st = r["structure"]
        print("  age structure simulated / published (Ichikawa): " + ", ".join(
            f"{k} {v[0]:.1%} / {v[1]:.1%}" for k, v in st["broad_simulated_published"].items())
            + f"; {st['persons_per_household']} persons per household", flush=True)
        print("  5-year bands: " + " ".join(f"{k} {v:.1%}/{st['bands_published'][k]:.1%}"
                                             for k, v in st["bands_simulated"].items()), flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "simulate.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
