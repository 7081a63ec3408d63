"""The README's configuration table is the settings object's: generated from it, and checked against it."""

from __future__ import annotations

from core.settings import REPO_ROOT, Settings
from core.settings_doc import table, variable, with_table


def test_the_readme_configuration_table_is_the_generated_one():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert with_table(readme) == readme, (
        "README.md's configuration table differs from the settings: run `python -m core.settings_doc --write README.md`")


def test_every_setting_has_a_row_with_a_description():
    rows = table()
    for name, field in Settings.model_fields.items():
        assert f"`{variable(name, field)}`" in rows, name
        assert field.description and len(field.description) > 15, f"{name} has no description"
