"""The data contracts: valid ODCS v3, complete classification, and the only schema the code uses."""

from __future__ import annotations

import shutil

import jsonschema
import pytest
import yaml

from ingestion.contracts import (
    CLASSIFICATIONS,
    CONTRACTS_DIR,
    POLICY_FILE_NAME,
    ContractError,
    contracts,
    load_contract,
    odcs_schema,
)

SPEC_SYSTEMS = {"juki", "zei", "kokuho", "kosodate", "houjin", "keiyaku", "hojokin", "madoguchi"}


@pytest.mark.parametrize("path", sorted(p for p in CONTRACTS_DIR.glob("*.yaml") if p.name != POLICY_FILE_NAME),
                         ids=lambda p: p.stem)
def test_contract_is_valid_odcs_v3(path):
    schema = odcs_schema()
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors]
    assert doc["apiVersion"].startswith("v3.")


def test_every_system_of_the_spec_has_a_contract_with_owner_freshness_and_retention():
    found = contracts()
    assert set(found) == SPEC_SYSTEMS
    for system, c in found.items():
        assert c.owner, system
        assert c.freshness_days and c.freshness_days > 0, system
        assert c.retention, system
        for table in c.tables:
            assert table.record_key, table.name
            for col in table.columns:
                assert col.classification in CLASSIFICATIONS, (table.name, col.name)


def test_my_number_columns_are_classified_and_stored_only_as_tokens():
    mn = [(t.name, c) for c in contracts().values() for t in c.tables for c in t.columns if c.parse == "my_number"]
    assert {t for t, _ in mn} == {"juki__jumin", "hojokin__shinsei"}
    for _table, col in mn:
        assert col.classification == "my_number"
        assert col.bronze_name.endswith("_token")


def test_contract_without_classification_is_refused(tmp_path):
    src = CONTRACTS_DIR / "madoguchi.yaml"
    doc = yaml.safe_load(src.read_text(encoding="utf-8"))
    del doc["schema"][0]["properties"][3]["classification"]
    bad = tmp_path / "madoguchi.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError, match="classification"):
        load_contract(bad)


def test_contract_with_unknown_parse_kind_is_refused(tmp_path):
    shutil.copy(CONTRACTS_DIR / "zei.yaml", tmp_path / "zei.yaml")
    text = (tmp_path / "zei.yaml").read_text(encoding="utf-8").replace("value: era7", "value: era8", 1)
    (tmp_path / "zei.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match="era8"):
        load_contract(tmp_path / "zei.yaml")


def test_fixed_width_ranges_tile_the_200_byte_record():
    zei = contracts()["zei"].tables[0]
    covered = sorted(c.byte_range for c in zei.columns)
    assert covered[0][0] == 1
    for (_, end), (start, _) in zip(covered, covered[1:]):
        assert start == end + 1
    assert covered[-1][1] == 198  # 199-200 are the two trailing spaces
