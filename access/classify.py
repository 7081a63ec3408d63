"""Column classifications, carried from the data contracts to every product column.

A product column names what it is computed from (``meta.from`` in its model's yml: contract columns as
``<bronze table>.<column>``, or the platform's keys ``identity.person_id`` / ``identity.business_id``), and
inherits the strictest classification among them. Three transformations lower it, and must be said:
``pseudonymized`` (a keyed pseudonym of the analysis zone: ``pseudonym``), ``generalized`` (a band, a town,
a year: at most ``quasi_identifier``) and ``aggregated`` (a count or a sum: at most ``quasi_identifier``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# strictest last; ``pseudonym`` sits with the quasi-identifiers (linkable inside the zone, not to a person)
ORDER = ("public", "quasi_identifier", "pseudonym", "sensitive", "direct_identifier", "my_number")
PLATFORM_KEYS = {"identity.person_id": "direct_identifier",  # resolves to a person through the identity zone
                 "identity.business_id": "quasi_identifier"}  # businesses are mostly public; 個人事業主 are not
LABELS = {"public": ("公開", "public"), "quasi_identifier": ("準識別子", "quasi-identifier"),
          "pseudonym": ("仮名", "pseudonym"), "sensitive": ("要配慮・機微", "sensitive"),
          "direct_identifier": ("直接識別子", "direct identifier"), "my_number": ("個人番号", "My Number"),
          "unclassified": ("未分類", "unclassified")}


class LineageError(ValueError):
    """A product column names a source no contract has."""


@dataclass(frozen=True)
class ColumnClass:
    table: str  # schema.table
    column: str
    classification: str
    sources: tuple[str, ...]
    transform: str | None


def contract_classes() -> dict[str, str]:
    """``<bronze table>.<column>`` -> classification, from every data contract."""
    from ingestion.contracts import contracts

    return {f"{t.name}.{c.name}": c.classification for ct in contracts().values() for t in ct.tables for c in t.columns}


def strictest(classes: list[str]) -> str:
    return max(classes, key=ORDER.index) if classes else "public"


def classify_column(meta: dict, known: dict[str, str]) -> tuple[str, str | None]:
    sources = list(meta.get("from") or [])
    unknown = [s for s in sources if s not in known and s not in PLATFORM_KEYS]
    if unknown:
        raise LineageError(f"no contract column {', '.join(unknown)}")
    base = strictest([PLATFORM_KEYS.get(s) or known[s] for s in sources])
    if meta.get("pseudonymized"):
        return "pseudonym", "pseudonymized"
    for transform in ("generalized", "aggregated"):
        if meta.get(transform):
            return (base if ORDER.index(base) <= ORDER.index("quasi_identifier") else "quasi_identifier"), transform
    if meta.get("derived") and not sources:
        return "public", "derived"
    return base, None


def manifest_tables(manifest_path: Path) -> dict[str, dict]:
    """``schema.table`` -> its dbt model node, for every model of the project."""
    nodes = json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"]
    return {f"{n['schema']}.{n.get('alias') or n['name']}": n for n in nodes.values()
            if n.get("resource_type") == "model" and n.get("config", {}).get("materialized") != "ephemeral"}


def classify(manifest_path: Path, tables: set[str] | None = None) -> dict[str, list[ColumnClass]]:
    """The classification of every column of ``tables`` (default: every product and analysis table)."""
    known = contract_classes()
    models = manifest_tables(manifest_path)
    wanted = tables if tables is not None else {t for t in models if t.split(".")[0].startswith("product_")
                                                or t.startswith("analysis.")}
    out: dict[str, list[ColumnClass]] = {}
    for table in sorted(wanted):
        node = models.get(table)
        if node is None:
            out[table] = []
            continue
        cols = []
        for name, col in node.get("columns", {}).items():
            meta = col.get("meta") or {}
            if "from" not in meta:
                cols.append(ColumnClass(table, name, "unclassified", (), None))
                continue
            try:
                cls, transform = classify_column(meta, known)
            except LineageError as exc:
                raise LineageError(f"{table}.{name}: {exc}") from None
            cols.append(ColumnClass(table, name, cls, tuple(meta.get("from") or ()), transform))
        out[table] = cols
    return out
