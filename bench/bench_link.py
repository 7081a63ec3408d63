"""One source at city scale: staging, linkage and golden records of a simulated city.

    python bench/bench_link.py                       # 500,000 residents, initial delivery + 3 days
    python bench/bench_link.py --residents 50000 --days 7

Simulates, then times each stage of the refresh sequence up to the marts in its own
child process (so each peak RSS is that stage's own): ingest, staging, person and
business linkage, marts. Reports pairwise precision / recall / F1 against the truth files (scoring
only). Figures to stdout and bench/results/link.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onesource.refresh import SEQUENCE

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

STAGE = """
import json, resource, sys, time
from pathlib import Path
from onesource import refresh
from onesource.core.settings import get_settings
stage, arg = sys.argv[1], sys.argv[2]
t = time.perf_counter()
out = {}
if stage == "quality":
    from identity.quality import pairwise
    from onesource.core import lake
    con = lake.connect()
    for e in ("person", "business"):
        q = pairwise(con, Path(arg) / f"{e}_truth.csv", e)
        out[e] = {"precision": round(q.precision, 4), "recall": round(q.recall, 4), "f1": round(q.f1, 4),
                  "records": q.records_scored}
else:  # one stage of the refresh sequence, as a full build runs it
    report = refresh.run_refresh(get_settings(), Path(arg) if arg else None, incremental=False, only=[stage])
    out = {k: {"records": r.records, "scored_pairs": r.scored_pairs, "links": r.probabilistic_links,
               "blocked_by_guard": r.blocked_by_guard, "review": r.review_pairs, "clusters": r.clusters}
           for k, (_run, r) in report.linkage.items()}
print(json.dumps({"wall_s": round(time.perf_counter() - t, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), **out}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=500_000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="onesource-bench-link-"))
    env = {**os.environ, "ONESOURCE_HOME": str(work / "home"), "ONESOURCE_KEYS_DIR": str(work / "keys")}
    results: dict = {"residents": args.residents, "days": args.days}
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "onesource.simulator", "city", "--landing", str(work / "landing"),
                        "--truth", str(work / "truth"), "--residents", str(args.residents), "--days",
                        str(args.days), "--seed", str(args.seed)], check=True, cwd=REPO, capture_output=True)
        print(f"simulated {args.residents:,} residents, {args.days} days in {time.perf_counter() - t:.0f} s",
              flush=True)
        stages = [(s.name, str(work / "landing") if s is SEQUENCE[0] else "") for s in SEQUENCE
                  if s.name in ("ingest", "staging", "linkage", "marts")]
        for stage, arg in (*stages, ("quality", str(work / "truth"))):
            proc = subprocess.run([sys.executable, "-c", STAGE, stage, arg], cwd=REPO, env=env, capture_output=True,
                                  text=True)
            if proc.returncode:
                raise SystemExit(f"{stage} failed:\n{proc.stderr[-3000:]}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results[stage] = r
            extra = {k: v for k, v in r.items() if k not in ("wall_s", "peak_rss_mb")}
            print(f"{stage:<8} {r['wall_s']:>7.1f} s  {r['peak_rss_mb']:>6,} MB peak  {json.dumps(extra)}",
                  flush=True)
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "link.json").write_text(json.dumps(results, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
