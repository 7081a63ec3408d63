"""The open data's disclosure control on simulated cities: how much of 地域・年齢別人口 stays visible.

    python bench/bench_opendata.py --residents 5000 50000 500000
    python bench/bench_opendata.py --home DIR           # a home built before (bench_city --keep DIR: DIR/home)

Simulates each city and builds it (as bench_analysis.py does), or reads a built home; then writes the
population table under the policy of publish/opendata.py and reports the areas (町丁目) and published rows,
the share of count cells suppressed, the share of residents in merged rows (merged 丁目 or a whole 町), and
the same table under the old policy (no merging, every area its own row) for comparison, with the time the
suppression and its audit took. Targets at 500k: under 10% of cells suppressed and under 5% of residents in
merged rows. Figures to stdout and bench/results/opendata.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_analysis import cities  # noqa: E402

MEASURE = """
import json, time
from core import lake
from publish.opendata import MIN_AREA_RESIDENTS, population_table, read_population
con = lake.connect(read_only=True)
areas, as_of = read_population(con)
residents = sum(a.residents for a in areas)
out = {"residents": residents, "areas": len(areas), "min_area_residents": MIN_AREA_RESIDENTS}
for name, minimum in (("policy", MIN_AREA_RESIDENTS), ("cell_suppression_only", 0)):
    t = time.perf_counter()
    table, groups = population_table(areas, as_of, minimum=minimum)
    cells = len(table.rows) * len(table.numeric)
    merged = sum(g.residents for g in groups if len(g.areas) > 1)
    out[name] = {"rows": len(groups), "cells": cells, "suppressed": len(table.suppressed),
                 "suppressed_share": round(len(table.suppressed) / cells, 4),
                 "merged_rows": sum(len(g.areas) > 1 for g in groups),
                 "residents_in_merged_rows_share": round(merged / residents, 4),
                 "seconds": round(time.perf_counter() - t, 2)}
print(json.dumps(out))
"""


def measure(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, nargs="+", default=[5_000, 50_000])
    ap.add_argument("--home", type=Path, help="Measure a home built before instead of simulating.")
    args = ap.parse_args()
    results = {}
    for name, env, _landing in cities(args.home, args.residents, "bench-opendata-"):
        results[name] = r = measure(env)
        p, o = r["policy"], r["cell_suppression_only"]
        print(f"{name:>8}: {r['residents']:,} residents in {r['areas']} areas -> {p['rows']} rows "
              f"({p['merged_rows']} merged); cells suppressed {p['suppressed_share']:.1%} of {p['cells']:,}, "
              f"residents in merged rows {p['residents_in_merged_rows_share']:.1%} ({p['seconds']} s); "
              f"without merging {o['suppressed_share']:.1%} of {o['cells']:,} cells", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "opendata.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
