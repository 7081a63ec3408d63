"""The analysis zone (仮名加工情報) of a simulated city: how much detail k-anonymity leaves.

    python bench/bench_analysis.py                      # 50,000 residents
    python bench/bench_analysis.py --residents 5000 50000 500000
    python bench/bench_analysis.py --home DIR           # a home built before (bench_city --keep DIR: DIR/home)

Simulates each city and builds it through the refresh sequence (`onesource refresh --full-relink`), or reads
a built home; then reports, for `analysis.persons` and `analysis.households`: rows placed and withheld, k (the
smallest cell of the quasi-identifiers), the number of cells, the share of persons that keep their 丁目, the
share the dbt test requires of a city that size, and the persons placed at each generalization level; and the
wall time of the products stage alone. Figures to stdout and bench/results/analysis.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONESOURCE = [sys.executable, "-m", "cli"]

MEASURE = """
import json
from core import lake
con = lake.connect(read_only=True)
q = lambda s: con.execute(s).fetchall()
registry = q("select count(*) from lake.marts.dim_person where status_source = 'juki'")[0][0]
placed, kept = q("select count(*), count(*) filter (where area_level = 'chome') from lake.analysis.persons")[0]
cells = q("select count(*), min(n) from (select count(*) n from lake.analysis.persons group by age_band, sex, area, "
          "household_size)")[0]
per_chome = q("select count(*) / count(distinct regexp_extract(address, '^(.+?丁目)', 1)) filter (where address like "
              "'%丁目%') from lake.marts.dim_person where status = 'resident'")[0][0]
levels = dict(q("select generalization_level, count(*) from lake.analysis.persons group by 1 order by 1"))
households = q("select (select count(*) from lake.marts.dim_household), count(*), min(n), count(n) from (select "
               "count(*) over (partition by area, household_size, members_under_18) n from lake.analysis.households)")[0]
print(json.dumps({"registry_persons": registry, "placed": placed, "withheld": registry - placed,
                  "k_smallest_cell": cells[1], "cells": cells[0], "chome_share": round(kept / placed, 4),
                  "required_share": round(0.5 * min(1.0, per_chome / 300), 4), "residents_per_chome": round(per_chome),
                  "levels": levels, "households": households[0], "households_placed": households[1],
                  "household_k": households[2]}))
"""


def measure(env: dict, landing: Path) -> dict:
    t = time.perf_counter()
    subprocess.run([*ONESOURCE, "refresh", "--landing", str(landing), "--stage", "products"], env=env, check=True,
                   capture_output=True)
    products = round(time.perf_counter() - t, 1)
    out = subprocess.run([sys.executable, "-c", MEASURE], env=env, check=True, capture_output=True, text=True)
    return {"products_stage_seconds": products, **json.loads(out.stdout.strip().splitlines()[-1])}


def simulate_and_build(residents: int, root: Path, env: dict) -> None:
    """Simulate a city of ``residents`` (one day) under ``root`` and build it (``refresh --full-relink``)."""
    subprocess.run([sys.executable, "-m", "simulator", "city", "--landing", str(root / "landing"),
                    "--truth", str(root / "truth"), "--residents", str(residents), "--days", "1"],
                   env=env, check=True, capture_output=True)
    subprocess.run([*ONESOURCE, "refresh", "--landing", str(root / "landing"), "--full-relink"], env=env,
                   check=True, capture_output=True)


def cities(home: Path | None, residents: list[int], prefix: str) -> Iterator[tuple[str, dict, Path]]:
    """(name, environment, landing zone) of each city to measure: a home built before (``home``, with its
    keys and landing beside it, as bench_city.py --keep leaves them), or each size simulated and built."""
    def env_for(home_dir: Path, keys: Path) -> dict:
        env = {**os.environ, "ONESOURCE_HOME": str(home_dir), "ONESOURCE_KEYS_DIR": str(keys)}
        env.pop("ONESOURCE_CATALOG_DSN", None)
        return env

    if home is not None:
        yield "home", env_for(home, home.parent / "keys"), home.parent / "landing"
        return
    for n in residents:
        root = Path(tempfile.mkdtemp(prefix=prefix))
        env = env_for(root / "home", root / "keys")
        simulate_and_build(n, root, env)
        yield str(n), env, root / "landing"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, nargs="+", default=[50_000])
    ap.add_argument("--home", type=Path, help="Measure a home built before instead of simulating.")
    args = ap.parse_args()
    results = {}
    for name, env, landing in cities(args.home, args.residents, "bench-analysis-"):
        results[name] = measure(env, landing)
        r = results[name]
        print(f"{name:>8}: {r['placed']:,} of {r['registry_persons']:,} persons placed ({r['withheld']:,} withheld), "
              f"k {r['k_smallest_cell']} over {r['cells']:,} cells, 丁目 kept for {r['chome_share']:.1%} "
              f"(required {r['required_share']:.1%}, {r['residents_per_chome']} residents per 丁目), levels "
              f"{r['levels']}; households {r['households_placed']:,} of {r['households']:,}, k {r['household_k']}; "
              f"products stage {r['products_stage_seconds']} s", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "analysis.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
