"""One source at city scale: staging, linkage and golden records of a simulated city.

    python bench/bench_link.py                       # 500,000 residents, initial delivery + 3 days
    python bench/bench_link.py --residents 5000,50000,500000
    python bench/bench_link.py --residents 50000 --days 7

Simulates (with the spec's faults, borrowed keys included), then times each stage of the refresh
sequence up to the marts in its own child process (so each peak RSS is that stage's own): ingest,
staging, person and business linkage, marts. Reports pairwise precision / recall / F1 against the
truth files (scoring only) for persons, for the person pairs in which a record carries no key (the
model's own work), and for businesses, before any review (a pair waiting in the queue counts as not
linked), and the review queue's size. Figures to stdout and bench/results/link.json.
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

from refresh.sequence import SEQUENCE

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

STAGE = """
import json, resource, sys, time
from pathlib import Path
from refresh import sequence
from core.settings import get_settings
stage, arg = sys.argv[1], sys.argv[2]
t = time.perf_counter()
out = {}
if stage == "quality":  # before any review: a pair still in the queue is not linked
    from identity.quality import pairwise
    from core import lake
    con = lake.connect()
    for name, e, keyless in (("person", "person", False), ("person_keyless", "person", True),
                             ("business", "business", False)):
        q = pairwise(con, Path(arg) / f"{e}_truth.csv", e, keyless_only=keyless)
        out[name] = {"precision": round(q.precision, 5), "recall": round(q.recall, 5), "f1": round(q.f1, 5),
                     "records": q.records_scored, "true_pairs": q.true_pairs}
    for e in ("person", "business"):
        records = con.execute(f"select count(*) from lake.identity.{e}_membership").fetchone()[0]
        queue = dict(con.execute(f"select reason, count(*) from lake.identity.{e}_review_queue "
                                 "where status = 'open' group by reason").fetchall()) if con.execute(
            "select count(*) from duckdb_tables() where database_name = 'lake' and schema_name = 'identity' "
            "and table_name = ?", [f"{e}_review_queue"]).fetchone()[0] else {}
        out[f"{e}_queue"] = {"pairs": sum(queue.values()), "by_reason": queue,
                             "share_of_records": round(sum(queue.values()) / records, 5) if records else 0}
else:  # one stage of the refresh sequence, as a full build runs it
    report = sequence.run_refresh(get_settings(), Path(arg) if arg else None, incremental=False, only=[stage])
    out = {k: {"records": r.records, "scored_pairs": r.scored_pairs, "links": r.probabilistic_links,
               "blocked_by_guard": r.blocked_by_guard, "review": r.review_pairs, "clusters": r.clusters}
           for k, (_run, r) in report.linkage.items()}
print(json.dumps({"wall_s": round(time.perf_counter() - t, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), **out}))
"""


def run_city(residents: int, days: int, seed: int) -> dict:
    """Simulate one city and run the stages in child processes; return the figures."""
    work = Path(tempfile.mkdtemp(prefix="onesource-bench-link-"))
    env = {**os.environ, "ONESOURCE_HOME": str(work / "home"), "ONESOURCE_KEYS_DIR": str(work / "keys")}
    results: dict = {"residents": residents, "days": days}
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "simulator", "city", "--landing", str(work / "landing"),
                        "--truth", str(work / "truth"), "--residents", str(residents), "--days",
                        str(days), "--seed", str(seed)], check=True, cwd=REPO, capture_output=True)
        manifest = json.loads((work / "truth" / "manifest.json").read_text(encoding="utf-8"))
        results["borrowed_keys"] = len(manifest.get("borrowed_keys", []))
        print(f"simulated {residents:,} residents, {days} days in {time.perf_counter() - t:.0f} s "
              f"({results['borrowed_keys']} borrowed keys)", flush=True)
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
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def summary(runs: list[dict]) -> str:
    """One line per city size and entity: P, R, F1 and the review queue."""
    lines = [f"{'residents':>9}  {'scope':<15} {'P':>7} {'R':>7} {'F1':>7}  {'true pairs':>10}  queue"]
    for r in runs:
        q = r["quality"]
        for scope, entity in (("person", "person"), ("person_keyless", "person"), ("business", "business")):
            s = q[scope]
            queue = q[f"{entity}_queue"] if scope != "person_keyless" else None
            lines.append(f"{r['residents']:>9,}  {scope:<15} {s['precision']:>7.4f} {s['recall']:>7.4f} "
                         f"{s['f1']:>7.4f}  {s['true_pairs']:>10,}  "
                         + (f"{queue['pairs']:,} pairs ({queue['share_of_records']:.2%} of records)" if queue else ""))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", default="500000",
                    help="one size or several, comma-separated (5000,50000,500000)")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    runs = [run_city(int(n), args.days, args.seed) for n in args.residents.split(",")]
    print(summary(runs))
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "link.json").write_text(json.dumps(runs if len(runs) > 1 else runs[0], indent=1) + "\n")


if __name__ == "__main__":
    main()
