"""The configuration table of the README, generated from the settings object, so that the two cannot drift.

    python -m core.settings_doc                 # print the table
    python -m core.settings_doc --write README.md   # replace the table between its markers in README.md

A field's row is its environment variable, its default and its description; the rows come in the settings'
sections, in the order the settings define them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic.fields import FieldInfo

from core.settings import REPO_ROOT, Settings

BEGIN = "<!-- settings table: generated from core/settings.py -->"
END = "<!-- end of settings table -->"


def variable(name: str, field: FieldInfo) -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    return field.alias or f"{prefix}{name}".upper()


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(REPO_ROOT).as_posix()}/` in the repository"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`"


def sections() -> list[tuple[str, list[tuple[str, FieldInfo]]]]:
    """The settings' fields by section: the section class that declares each field, in the settings' order."""
    out: dict[str, list[tuple[str, FieldInfo]]] = {}
    for name, field in Settings.model_fields.items():
        owner = next(c for c in reversed(Settings.__mro__) if name in getattr(c, "__annotations__", {}))
        title = (owner.__doc__ or owner.__name__).strip().splitlines()[0].rstrip(".")
        out.setdefault(title, []).append((name, field))
    return list(out.items())


def table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    grouped = sections()
    for title, fields in grouped:
        if len(grouped) > 1:
            lines.append(f"| **{title}** | | |")
        for name, field in fields:
            meaning = " ".join((field.description or "").split()).replace("|", "\\|")
            lines.append(f"| `{variable(name, field)}` | {_default(field)} | {meaning} |")
    return "\n".join(lines)


def with_table(text: str) -> str:
    """``text`` (the README) with the table between its markers replaced by the generated one."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"no settings table markers ({BEGIN} … {END})")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, metavar="README", help="Replace the table in this file.")
    args = ap.parse_args(argv)
    if args.write is None:
        print(table())
        return 0
    text = args.write.read_text(encoding="utf-8")
    args.write.write_text(with_table(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
