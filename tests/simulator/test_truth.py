"""Truth files and the manifest: every record in exactly one truth row, noise at the configured rates."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from collections import Counter, defaultdict

import openpyxl

from simulator import SimConfig, simulate
from tests.simulator.landing import files


def _keys_in_files(city) -> set[tuple[str, str]]:
    """Every record key that can be read back from the landing zone, computed independently."""
    keys = set()
    for path in files(city, "juki/*/juki_*.csv"):
        for line in path.read_bytes().split(b"\r\n")[1:]:
            atena = line.split(b",")[0].strip(b'"').decode("ascii")  # readable even where the row is not
            if atena:
                keys.add(("juki", atena))
    for path in files(city, "zei/*/*.dat"):
        for rec in path.read_bytes().split(b"\r\n")[:-1]:
            if rec[4:12].strip():
                keys.add(("zei", f"{rec[0:4].decode()}:{rec[4:12].decode()}"))
    for path in files(city, "kokuho/*/*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = {"hihokensha_bango": json.loads(line[line.index(":") + 1:line.index(",")])}
            if obj.get("hihokensha_bango"):
                keys.add(("kokuho", obj["hihokensha_bango"]))
    for path in files(city, "kosodate/*/*.xlsx"):
        ws = openpyxl.load_workbook(path)["申込一覧"]
        for row in ws.iter_rows(min_row=3, values_only=True):
            if row and row[0]:
                keys |= {("kosodate", f"{row[0]}:保護者"), ("kosodate", f"{row[0]}:児童")}
    for path in files(city, "hojokin/*/*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("shinsei_bango"):
            keys.add(("hojokin", doc["shinsei_bango"]))
    for path in files(city, "madoguchi/*/*.csv"):
        for r in list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]:
            if r[0] and len(r) > 8 and r[8]:
                keys.add(("madoguchi", r[0]))
    for path in files(city, "houjin/*/*.csv"):
        keys |= {("houjin", r[1]) for r in csv.reader(io.StringIO(path.read_text(encoding="utf-8")))}
    con = sqlite3.connect(city.landing / "keiyaku" / "keiyaku.sqlite")
    keys |= {("keiyaku", f"gyosha:{g}") for (g,) in con.execute("select gyosha_id from gyosha")}
    return keys


def test_every_record_in_exactly_one_truth_row(city):
    truth = {}
    for kind in ("person", "business"):
        text = (city.truth / f"{kind}_truth.csv").read_text(encoding="utf-8")
        assert text.startswith("source_system,source_record_key,true_id\n")
        for r in csv.DictReader(io.StringIO(text)):
            k = (r["source_system"], r["source_record_key"])
            assert k not in truth, f"{k} in more than one truth row"
            truth[k] = r["true_id"]
    in_files = _keys_in_files(city)
    assert in_files == set(truth), (sorted(in_files - set(truth))[:5], sorted(set(truth) - in_files)[:5])


def test_truth_ids_are_shared_across_systems(city):
    truth = csv.DictReader(io.StringIO((city.truth / "person_truth.csv").read_text(encoding="utf-8")))
    systems_per_person = defaultdict(set)
    for r in truth:
        systems_per_person[r["true_id"]].add(r["source_system"])
    linked = Counter(len(s) for s in systems_per_person.values())
    assert sum(n for k, n in linked.items() if k >= 3) > 100  # one person seen by several systems


# --- noise -----------------------------------------------------------------------------------------------
def test_noise_rates_within_tolerance(city):
    noise = city.manifest["noise"]
    checked = 0
    for kind, n in noise.items():
        if n["eligible"] < 300:
            continue
        p = n["rate"]
        tol = 4 * math.sqrt(p * (1 - p) / n["eligible"]) + 2 / n["eligible"]
        assert abs(n["applied"] / n["eligible"] - p) <= tol, (kind, n)
        checked += 1
    assert checked >= 15


def test_noise_rates_follow_the_config(tmp_path):
    """Raising one rate in the one config raises what lands in the files, measured from the files."""
    def hiragana_share(rate: float) -> float:
        cfg = SimConfig(residents=3000, days=0, seed=11)
        cfg.noise.hiragana_for_katakana = rate
        root = tmp_path / f"r{rate}"
        simulate(root / "landing", root / "truth", cfg)
        kana = []
        for path in root.glob("landing/kosodate/*/*.xlsx"):
            ws = openpyxl.load_workbook(path)["申込一覧"]
            kana += [row[6] for row in ws.iter_rows(min_row=3, values_only=True) if row and row[6]]
        return sum(1 for k in kana if any("ぁ" <= c <= "ゖ" for c in k)) / len(kana)

    assert hiragana_share(0.0) == 0.0
    assert 0.4 < hiragana_share(0.6) < 0.8


def test_broken_rows_counts_in_manifest_add_up(city):
    per_file = Counter()
    for cls in ("quarantine", "field_issue"):
        for r in city.manifest[f"{cls}_rows"]:
            per_file[(r["file"], cls)] += 1
    for f, info in city.manifest["files"].items():
        assert sum(info["quarantine"].values()) == per_file[(f, "quarantine")]
        assert sum(info["field_issues"].values()) == per_file[(f, "field_issue")]
    assert city.summary.quarantine_rows == len(city.manifest["quarantine_rows"]) > 0
    assert city.manifest["resent"]
    for new, old in city.manifest["resent"].items():
        assert (city.landing / new).read_bytes() == (city.landing / old).read_bytes()


# --- determinism -----------------------------------------------------------------------------------------
