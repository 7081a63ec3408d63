"""The access policy as reviewed data: every department of the contracts has a role, every grant names an
existing product with its purpose and legal basis in both languages, the raw zones are the data team's
alone, and every column a role can read carries a classification from the contracts."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from access import classify, policy
from ingestion.contracts import contracts
from tests.support.commands import run_cli

RAW = yaml.safe_load(policy.POLICY_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    from core.dbt import prepare_manifest
    from core.settings import Settings

    home = tmp_path_factory.mktemp("access") / "home"
    return prepare_manifest(Settings(home=home, keys_dir_override=home.parent / "keys"))


def test_every_department_of_the_contracts_has_one_role():
    p = policy.load()
    for system, c in contracts().items():
        owners = [r.name for r in p.roles.values() if r.kind == "department" and c.owner in r.teams]
        assert len(owners) == 1, (system, c.owner, owners)
    assert {r.kind for r in p.roles.values()} == set(policy.KINDS)
    assert [r.name for r in p.roles.values() if r.kind == "operator"] == ["data_team"]


def test_every_grant_names_a_built_table_and_every_product_is_granted(manifest):
    p = policy.load()
    tables = classify.manifest_tables(manifest)
    for role in p.roles.values():
        for g in role.grants:
            if g.is_table and g.product != "ops.releases":
                assert g.product in tables, (role.name, g.product)
            assert g.purpose.ja and g.purpose.en and g.legal_basis.ja and g.legal_basis.en
    products = {t for t in tables if t.split(".")[0].startswith("product_") or t.startswith("analysis.")}
    assert products and products <= p.products(), products - p.products()
    # a department reads its own products and no other department's
    for t in products:
        readers = {r.name for r, _ in p.readers(*t.split("."))}
        assert "data_team" in readers
        if t.startswith("product_"):
            assert readers == {"data_team", t.split(".")[0].removeprefix("product_")}, (t, readers)
        else:
            assert readers == {"data_team", "analyst"}, (t, readers)
    for zone in policy.RAW_ZONES:
        assert {r.name for r, _ in p.readers(zone, "anything")} <= {"data_team", "api_service"}


@pytest.mark.parametrize("change, message", [
    (lambda d: d["roles"]["analyst"]["grants"].append(
        {"product": "staging.stg_juki__residents", **{k: RAW["roles"]["analyst"]["grants"][0][k]
                                                      for k in ("purpose", "legal_basis")}}), "raw zone"),
    (lambda d: d["roles"]["hoiku"]["grants"].append(
        {"product": "product_kokuho.enrolees", **{k: RAW["roles"]["hoiku"]["grants"][0][k]
                                                  for k in ("purpose", "legal_basis")}}), "another department"),
    (lambda d: d["roles"]["hoiku"]["grants"][0]["purpose"].pop("en"), "needs both ja and en"),
    (lambda d: d["roles"]["hoiku"]["grants"][0].pop("legal_basis"), "needs both ja and en"),
    (lambda d: d["roles"]["analyst"].update(zones=["analysis"]), "only the operators"),
    (lambda d: d["roles"].update({"Hoiku-2": d["roles"]["hoiku"]}), "lowercase ASCII"),
])
def test_a_policy_that_breaks_a_rule_is_refused(change, message):
    doc = copy.deepcopy(RAW)
    change(doc)
    with pytest.raises(policy.PolicyError, match=message):
        policy.parse(doc)


def test_every_column_a_role_reads_is_classified_from_the_contracts(manifest):
    p = policy.load()
    granted = {g.product for r in p.roles.values() for g in r.grants if g.is_table} - {"ops.releases"}
    classes = classify.classify(manifest, granted)
    for table, cols in classes.items():
        assert cols, table
        assert not [c.column for c in cols if c.classification == "unclassified"], table
    by = {(c.table, c.column): c.classification for cols in classes.values() for c in cols}
    # a product column inherits the strictest classification of what it is computed from
    assert by[("product_hoiku.applications", "child_name")] == "direct_identifier"
    assert by[("product_shiminzei.taxpayers", "total_income_yen")] == "sensitive"
    assert by[("product_hoiku.applications", "town")] == "quasi_identifier"  # generalized from an address
    assert by[("analysis.persons", "person_key")] == "pseudonym"
    # nothing in the analysis zone identifies a person directly, nor any 個人番号 anywhere
    assert not [k for k, v in by.items() if k[0].startswith("analysis.") and v in ("direct_identifier", "my_number")]
    assert "my_number" not in by.values()


def test_a_product_column_naming_no_contract_column_is_an_error():
    with pytest.raises(classify.LineageError, match="juki__jumin.no_such"):
        classify.classify_column({"from": ["juki__jumin.no_such"]}, classify.contract_classes())


def test_access_show_prints_each_role_in_japanese_and_english(tmp_path):
    env = {**os.environ, "ONESOURCE_HOME": str(tmp_path / "home"), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys")}
    proc = run_cli("access", "show", "analyst", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "政策分析担当" in out and "Policy analysts" in out and "analysis.persons" in out
    assert "個人情報保護法 第41条" in out and "APPI art. 41" in out
    assert "person_key" in out and "仮名 / pseudonym" in out
    assert "product_hoiku" not in out  # one role only
    every = run_cli("access", "show", "--no-columns", env=env)
    assert every.returncode == 0 and all(f"■ {r}:" in every.stdout for r in policy.load().roles)
    bad = run_cli("access", "show", "nobody", env=env)
    assert bad.returncode == 2 and "no role 'nobody'" in bad.stderr
