"""Marts: KPIs recomputed independently agree exactly; contracts hold; docs cover every model and column."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import pytest

from core import lake
from core.dbt import run_dbt
from core.settings import get_settings

RATES = ("one_stop_rate", "once_only_rate", "online_share", "after_hours_online_share", "median_lead_time_hours",
         "visits_per_case")


def _kpis_in_python(rows):
    """The KPI definitions of the charter, computed in plain Python from the front-desk rows."""
    cases = defaultdict(list)
    for r in rows:
        cases[r["case_number"]].append(r)
    out = defaultdict(lambda: defaultdict(float))
    lead = defaultdict(list)
    for r in rows:
        key = (r["received_at"].date().replace(day=1), r["office"])
        o = out[key]
        o["procedures"] += 1
        o["fields_entered"] += r["fields_entered"] or 0
        o["fields_already_held"] += r["fields_already_held"] or 0
        if r["channel"] == "オンライン":
            o["online"] += 1
            t = r["received_at"]
            if t.weekday() >= 5 or (t.hour, t.minute) < (8, 45) or (t.hour, t.minute) >= (17, 15):
                o["after_hours"] += 1
        if r["completed_at"] is not None:
            lead[key].append((r["completed_at"] - r["received_at"]).total_seconds() / 3600)
    for procs in cases.values():
        first = min(procs, key=lambda p: p["received_at"])
        key = (first["received_at"].date().replace(day=1), first["office"])
        if not any(p["channel"] == "窓口" for p in procs):
            continue
        o = out[key]
        o["window_cases"] += 1
        visits = sum(p["visits"] or 0 for p in procs)
        o["window_visits"] += visits
        if all(p["completed_at"] is not None for p in procs):
            o["finished"] += 1
            if len({p["office"] for p in procs}) == 1 and visits <= 1:
                o["one_stop"] += 1
    result = {}
    for key, o in out.items():
        ls = sorted(lead[key])
        median = None
        if ls:
            m = len(ls) // 2
            median = ls[m] if len(ls) % 2 else (ls[m - 1] + ls[m]) / 2
        result[key] = {
            "procedures": o["procedures"],
            "one_stop_rate": o["one_stop"] / o["finished"] if o["finished"] else None,
            "once_only_rate": 1 - o["fields_already_held"] / o["fields_entered"] if o["fields_entered"] else None,
            "online_share": o["online"] / o["procedures"],
            "after_hours_online_share": o["after_hours"] / o["online"] if o["online"] else None,
            "median_lead_time_hours": median,
            "visits_per_case": o["window_visits"] / o["window_cases"] if o["window_cases"] else None,
        }
    return result


def test_kpi_mart_agrees_with_an_independent_computation(city_home):
    con = lake.connect(read_only=True)
    cols = ["case_number", "received_at", "completed_at", "office", "channel", "visits", "fields_entered",
            "fields_already_held"]
    rows = [dict(zip(cols, r)) for r in con.execute(
        f"select {', '.join(cols)} from lake.staging.stg_madoguchi__procedures where received_at is not null"
    ).fetchall()]
    expected = _kpis_in_python(rows)
    mart = con.execute(f"select month, office, procedures, {', '.join(RATES)} from lake.marts.mart_dx_kpi_monthly"
                       ).fetchall()
    assert len(mart) == len(expected) > 0
    for month, office, procedures, *rates in mart:
        exp = expected[(month, office)]
        assert procedures == exp["procedures"]
        for name, got in zip(RATES, rates):
            want = exp[name]
            assert (got is None) == (want is None), (month, office, name, got, want)
            if got is not None:
                assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (month, office, name, got, want)


def test_department_marts_have_enforced_contracts_and_rows(city_home):
    con = lake.connect(read_only=True)
    for mart in ("mart_resident_tax_by_household", "mart_kokuho_enrolment", "mart_nursery_applications",
                 "mart_nursery_waiting_list", "mart_contracts_by_business", "mart_subsidies_by_applicant"):
        assert con.execute(f"select count(*) from lake.marts.{mart}").fetchone()[0] > 0, mart
    # the waiting list adds up to the applications it counts
    waiting = con.execute("select sum(applications) from lake.marts.mart_nursery_waiting_list").fetchone()[0]
    apps = con.execute("select count(*) from lake.marts.mart_nursery_applications where age_class between 0 and 5")
    assert waiting == apps.fetchone()[0]
    # once-only: a resident applicant's 住民票 is held, an estimate never is
    held = dict(con.execute("select attachment, bool_or(held_by_city) from lake.marts.mart_once_only_attachments "
                            "group by all").fetchall())
    assert held.get("住民票の写し") is True and held.get("見積書", False) is False
    procedures = con.execute("select count(*), count(*) filter (where name_held), "
                             "count(*) filter (where prefillable_fields not between 0 and 3) "
                             "from lake.marts.mart_once_only_procedures").fetchone()
    assert procedures[0] > 0 and 0 < procedures[1] <= procedures[0] and procedures[2] == 0


@pytest.mark.parametrize("kind", ["model"])
def test_dbt_docs_generate_and_every_model_and_column_is_described(city_home, kind):
    result = run_dbt(["docs", "generate"])
    assert result.success
    target = get_settings().home / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    missing = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != kind:
            continue
        if not node.get("description", "").strip():
            missing.append(uid)
        built = catalog["nodes"].get(uid, {}).get("columns", {})
        documented = {c.lower() for c, v in node["columns"].items() if v.get("description", "").strip()}
        missing += [f"{uid}.{c}" for c in built if c.lower() not in documented]
    assert not missing, missing[:20]
