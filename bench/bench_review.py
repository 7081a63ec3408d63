"""Reviewers' decisions teach the linkage: the queue and the quality before and after a batch of answers.

    python bench/bench_review.py                    # 50,000 residents, a reviewer answers half the queue
    python bench/bench_review.py --residents 20000 --answer 0.5
    python bench/bench_review.py --residents 20000 --link 0.999 --review-lower 0.01   # a cautious first band
    python bench/bench_review.py --residents 20000 --noise typo=0.1 --noise kana_variant=0.2 --noise old_address=0.6

Simulates a city and builds it up to the linkage; then a simulated reviewer answers a batch of the person
and business queues (the workbench's order: most impact first) from the truth files, as a steward would
through the workbench; the linkage runs again (a full relink: the labels move the review band, the decisions
themselves are applied). Reports, before and after, the queue's size and pairwise precision / recall measured
on the pairs that were NOT in the answered batch (so the answers themselves do not flatter the figures), the
band, and the band's precision / recall on the labels. Figures to stdout and bench/results/review.json.
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def quality_outside(con, truth: Path, entity: str, batch: set[tuple[str, str]]) -> dict:
    """Pairwise P / R over every pair of records except the answered ones."""
    con.execute(f"create or replace temp table _bt as select source_system || '|' || source_record_key as uid, "
                f"true_id from read_csv('{truth / f'{entity}_truth.csv'}', all_varchar = true)")
    con.execute(f"""create or replace temp table _bj as select m.unique_id as uid, m.{entity}_id as pid, t.true_id
                    from lake.identity.{entity}_membership m join _bt t on t.uid = m.unique_id""")
    con.execute("create or replace temp table _answered (l varchar, r varchar)")
    if batch:
        con.executemany("insert into _answered values (?, ?)", sorted(batch))
    row = con.execute("""
        with pred as (select a.uid as l, b.uid as r from _bj a join _bj b on a.pid = b.pid and a.uid < b.uid),
             tru as (select a.uid as l, b.uid as r from _bj a join _bj b on a.true_id = b.true_id and a.uid < b.uid),
             p as (select * from pred except select * from _answered),
             t as (select * from tru except select * from _answered)
        select (select count(*) from p), (select count(*) from t),
               (select count(*) from (select * from p intersect select * from t))""").fetchone()
    predicted, true, correct = row
    return {"precision": round(correct / predicted, 5) if predicted else 1.0,
            "recall": round(correct / true, 5) if true else 1.0, "true_pairs": true}


def snapshot(con, truth: Path, batches: dict) -> dict:
    from workbench import data

    out = {}
    for entity in ("person", "business"):
        rows, total = data.queue(con, entity, limit=10 ** 9)
        run = con.execute("select link_threshold, review_lower, labels, label_precision, label_recall from "
                          "lake.identity.linkage_runs where entity = ? order by started_at desc limit 1",
                          [entity]).fetchone()
        out[entity] = {"queue_open": total, "band": [run[1], run[0]], "labels": run[2],
                       "label_precision": run[3], "label_recall": run[4],
                       **quality_outside(con, truth, entity, batches.get(entity, set()))}
    return out


def answer(con, truth: Path, share: float) -> dict[str, set[tuple[str, str]]]:
    """A reviewer answers the first ``share`` of each queue, in the workbench's order, from the truth files."""
    from workbench import data

    batches = {}
    for entity in ("person", "business"):
        ids = dict(con.execute(f"select source_system || '|' || source_record_key, true_id from "
                               f"read_csv('{truth / f'{entity}_truth.csv'}', all_varchar = true)").fetchall())
        rows, total = data.queue(con, entity, limit=10 ** 9)
        batch = rows[: int(round(total * share))]
        for r in batch:
            same = ids.get(r["unique_id_l"]) is not None and ids.get(r["unique_id_l"]) == ids.get(r["unique_id_r"])
            data.decide(con, entity, r["unique_id_l"], r["unique_id_r"], "same" if same else "different",
                        "simulated-reviewer", "answered from the truth files (benchmark)")
        batches[entity] = {(r["unique_id_l"], r["unique_id_r"]) for r in batch}
    return batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--answer", type=float, default=0.5, help="share of each queue the reviewer answers")
    ap.add_argument("--link", type=float, default=0.95, help="the data team's starting link threshold")
    ap.add_argument("--review-lower", type=float, default=0.5, help="the data team's starting review floor")
    ap.add_argument("--noise", action="append", default=[], metavar="KIND=RATE",
                    help="a harder city: raise a noise rate of the simulator (repeatable), e.g. typo=0.08")
    ap.add_argument("--keep", type=Path, default=None, help="keep the city and its lake in this folder")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="onesource-bench-review-"))
    work.mkdir(parents=True, exist_ok=True)
    config = []
    if args.noise:
        import yaml

        (work / "sim.yaml").parent.mkdir(parents=True, exist_ok=True)
        noise = {k: float(v) for k, v in (n.split("=", 1) for n in args.noise)}
        (work / "sim.yaml").write_text(yaml.safe_dump({"noise": noise}), encoding="utf-8")
        config = ["--config", str(work / "sim.yaml")]
    os.environ.update({"ONESOURCE_HOME": str(work / "home"), "ONESOURCE_KEYS_DIR": str(work / "keys")})
    try:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "simulator", "city", "--landing", str(work / "landing"),
                        "--truth", str(work / "truth"), "--residents", str(args.residents), "--days",
                        str(args.days), "--seed", str(args.seed), *config], check=True, cwd=REPO, capture_output=True)
        from core import lake
        from core.settings import get_settings
        from identity.link import link_all
        from identity.linkage import LinkageConfig
        from refresh import sequence

        settings = get_settings()
        sequence.run_refresh(settings, work / "landing", incremental=False, run_expectations=False,
                            only=["ingest", "staging", "linkage"])
        print(f"built {args.residents:,} residents in {time.perf_counter() - t:.0f} s", flush=True)
        con = lake.connect()
        band = LinkageConfig(link=args.link, review_lower=args.review_lower)
        if band != LinkageConfig():  # the data team starts from its own band
            link_all(con, settings, band)
        before = snapshot(con, work / "truth", {})
        batches = answer(con, work / "truth", args.answer)
        before = snapshot(con, work / "truth", batches)  # the same figures, without the answered pairs
        link_all(con, settings, band)  # the labels move the band from there
        after = snapshot(con, work / "truth", batches)
        con.close()
        result = {"residents": args.residents, "noise": args.noise, "start_band": [args.review_lower, args.link],
                  "answered": {e: len(b) for e, b in batches.items()},
                  "before": before, "after": after}
        for e in ("person", "business"):
            b, a = before[e], after[e]
            print(f"{e:<9} answered {len(batches[e]):>5}  queue {b['queue_open']:>6,} -> {a['queue_open']:>6,}  "
                  f"band {b['band']} -> {[round(x, 4) for x in a['band']]}  P {b['precision']} -> {a['precision']}  "
                  f"R {b['recall']} -> {a['recall']}  (labels {a['labels']}: P {a['label_precision']} "
                  f"R {a['label_recall']})", flush=True)
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "review.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
