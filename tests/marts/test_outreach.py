"""Push-type outreach: the lists the departments receive equal an independent computation over the
simulator's true persons and households, up to the linkage errors measured in the same test.

The independent side reads only the simulator's truth (registry_truth.csv: every registered person as the
world holds them; person_truth.csv: which true person each source record belongs to) and the front-desk
log as delivered, in plain Python with its own statement of each rule."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict

import pytest

from core import lake
from tests.support.lakes import platform_at

CLAIM = "児童手当認定請求"


def allowance_until(birth: dt.date, precision: str) -> dt.date:
    """31 March of the school year in which the child turns 18, from what the registry knows of the birth."""
    if precision == "unknown_md":
        return dt.date(birth.year + 19, 3, 31)  # month unknown: the later school year (the list errs to asking)
    early = birth.month < 4 or (birth.month == 4 and birth.day == 1 and precision == "day")
    return dt.date(birth.year + (18 if early else 19), 3, 31)


def known_birth(birth: dt.date, precision: str) -> dt.date:
    return {"unknown_md": birth.replace(month=1, day=1), "unknown_d": birth.replace(day=1)}.get(precision, birth)


@pytest.fixture(scope="module")
def truth(city):
    registry = list(csv.DictReader((city.truth / "registry_truth.csv").open(encoding="utf-8")))
    owner = {(r["source_system"], r["source_record_key"]): r["true_id"]
             for r in csv.DictReader((city.truth / "person_truth.csv").open(encoding="utf-8"))}
    closed = lambda system: sorted(d for d in (city.landing / system).iterdir() if (d / "_SUCCESS").exists())  # noqa: E731
    as_of = max(dt.date.fromisoformat(f"{d.name[:4]}-{d.name[4:6]}-{d.name[6:]}") for d in closed("juki"))
    log = []
    for folder in closed("madoguchi"):
        for path in folder.glob("uketsuke_*.csv"):
            with path.open(encoding="utf-8-sig", newline="") as f:
                for row in csv.DictReader(f):
                    try:
                        day = dt.datetime.strptime(row["受付日時"], "%Y-%m-%d %H:%M:%S").date()
                    except (TypeError, ValueError):
                        continue
                    log.append((row["受付番号"], day, row["手続名"]))
    return registry, owner, as_of, log


@pytest.fixture(scope="module")
def lake_side(built_city):
    with platform_at(built_city):
        con = lake.connect(read_only=True)
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        out = {
            "allowance": {r[0] for r in q("select household_id from lake.product_kosodate_shien.child_allowance_outreach")},
            "allowance_rows": q("select household_id, event, event_date, claim_due, reason, data_date "
                                "from lake.product_kosodate_shien.child_allowance_outreach"),
            "exempt": {r[0] for r in q("select household_id from lake.product_shiminzei.exempt_household_benefit_outreach")},
            "xref": q("select source_system, source_record_key, person_id from lake.marts.person_source_xref"),
            "as_of": q("select max(delivered_on) from lake.staging.stg_juki__residents")[0][0],
        }
        con.close()
    return out


def _mislinked(owner: dict, xref: list) -> set[str]:
    """True persons the linkage got wrong: a record of theirs not linked, or linked to a platform person that
    also holds another true person's records, or their records spread over several platform persons."""
    platform = {(s, k): pid for s, k, pid in xref}
    by_true: dict[str, set] = defaultdict(set)
    by_platform: dict[str, set] = defaultdict(set)
    wrong = set()
    for key, true_id in owner.items():
        pid = platform.get(key)
        if pid is None:
            if key[0] in ("juki", "zei", "madoguchi"):
                wrong.add(true_id)
            continue
        by_true[true_id].add(pid)
        by_platform[pid].add(true_id)
    wrong |= {t for t, pids in by_true.items() if len(pids) > 1}
    wrong |= {t for ts in by_platform.values() if len(ts) > 1 for t in ts}
    return wrong


def _unexplained(registry, owner: dict, xref: list, expected: set, listed: set) -> tuple[set, set]:
    """(households a linkage error touches, households that differ between the two sides without one)."""
    wrong = _mislinked(owner, xref)
    touched = {h for h, members in _households(registry).items() if any(m["true_id"] in wrong for m in members)}
    return touched, (expected ^ listed) - touched


def _households(registry) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in registry:
        out["H" + r["setai"]].append(r)
    return out


def test_child_allowance_outreach_equals_an_independent_count(truth, lake_side):
    registry, owner, as_of, log = truth
    assert lake_side["as_of"] == as_of
    log_start = min(day for _, day, _ in log)
    claimants = {owner[("madoguchi", no)] for no, day, name in log
                 if name == CLAIM and day >= log_start and ("madoguchi", no) in owner}
    expected = set()
    for household, members in _households(registry).items():
        children = []
        for m in members:
            birth, precision = dt.date.fromisoformat(m["birth"]), m["birth_precision"]
            if known_birth(birth, precision) <= as_of <= allowance_until(birth, precision):
                children.append(dt.date.fromisoformat(m["became_resident"]))
        if children and max(children) >= log_start and not any(m["true_id"] in claimants for m in members):
            expected.add(household)
    listed = lake_side["allowance"]
    assert len(expected) >= 3, "the simulated city has unclaimed households: the comparison is not vacuous"
    # every difference is a household the measured linkage errors touch (a claim made without a readable
    # 宛名番号 cannot be tied to its household; a record split or merged moves a person)
    touched, unexplained = _unexplained(registry, owner, lake_side["xref"], expected, listed)
    assert not unexplained, f"{len(unexplained)} households differ without a linkage error: {sorted(unexplained)[:5]}"
    assert len(expected & listed) >= 0.8 * len(expected), (len(expected), len(listed))
    print(f"児童手当: {len(listed)} listed, {len(expected)} by the truth, {len(expected ^ listed)} differ, "
          f"{len(touched)} households touched by linkage errors")
    for _household, event, event_date, due, reason, data_date in lake_side["allowance_rows"]:
        assert event in ("出生", "転入") and due == event_date + dt.timedelta(days=15) and data_date == as_of
        assert "児童手当認定請求なし" in reason and event_date.isoformat() in reason


def test_exempt_household_outreach_equals_an_independent_count(truth, lake_side):
    registry, owner, _, _ = truth
    expected = set()
    for household, members in _households(registry).items():
        assessed = [m["taxation"] for m in members if m["taxation"]]
        if assessed and all(t == "3" for t in assessed):
            expected.add(household)
    listed = lake_side["exempt"]
    assert len(expected) >= 20, "exempt households exist in the simulated city: the comparison is not vacuous"
    touched, unexplained = _unexplained(registry, owner, lake_side["xref"], expected, listed)
    assert len(unexplained) <= 0.01 * len(expected), sorted(unexplained)[:5]
    print(f"非課税世帯: {len(listed)} listed, {len(expected)} by the truth, {len(expected ^ listed)} differ, "
          f"{len(touched)} touched by linkage errors, {len(unexplained)} unexplained")
