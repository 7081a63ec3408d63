"""The data contracts (ODCS v3 YAML in ``data_contracts/``) as typed objects.

The contracts are the only description of the source schemas: connectors read
column names, byte ranges, JSON paths and keys from here, the field parsers
read each property's ``parse`` kind and code list, the bronze DDL and the
Great Expectations suites are generated from them.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.settings import REPO_ROOT

CONTRACTS_DIR = REPO_ROOT / "data_contracts"
CLASSIFICATIONS = ("my_number", "direct_identifier", "quasi_identifier", "sensitive", "public")
PARSE_KINDS = ("text", "atena", "my_number", "houjin_bango", "era7", "yyyymmdd", "date", "free_date",
               "datetime", "timestamptz", "integer", "code", "boolean", "json")
# bronze load metadata, in this order after the contract's columns
LOAD_COLUMNS = (("_overflow", "VARCHAR"), ("_system", "VARCHAR"), ("_delivery_date", "DATE"), ("_file", "VARCHAR"),
                ("_file_sha256", "VARCHAR"), ("_line", "BIGINT"), ("_batch_id", "VARCHAR"),
                ("_loaded_at", "TIMESTAMPTZ"))


class ContractError(ValueError):
    """A contract that the platform cannot use (unknown parse kind, missing key...)."""


def _custom(obj: dict) -> dict[str, Any]:
    return {c["property"]: c["value"] for c in obj.get("customProperties") or []}


@dataclass(frozen=True)
class Column:
    name: str
    physical_name: str
    physical_type: str
    classification: str
    parse: str
    required: bool
    is_key: bool
    description: str = ""
    codes: tuple[str, ...] = ()
    pattern: str | None = None
    byte_range: tuple[int, int] | None = None
    leading_zeros_lost: bool = False

    @property
    def bronze_name(self) -> str:
        """The bronze column: a 個人番号 column is stored only as its token."""
        return f"{self.name}_token" if self.parse == "my_number" else self.name

    @functools.cached_property
    def regex(self) -> re.Pattern | None:
        return re.compile(self.pattern) if self.pattern else None


@dataclass(frozen=True)
class Table:
    system: str
    name: str
    physical_name: str
    description: str
    columns: tuple[Column, ...]
    record_key: tuple[str, ...]
    file_pattern: re.Pattern | None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key_columns(self) -> tuple[Column, ...]:
        by_name = {c.name: c for c in self.columns}
        return tuple(by_name[k] for k in self.record_key)

    @property
    def has_my_number(self) -> bool:
        return any(c.parse == "my_number" for c in self.columns)

    def bronze_columns(self) -> list[tuple[str, str]]:
        return [(c.bronze_name, c.physical_type) for c in self.columns] + list(LOAD_COLUMNS)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Contract:
    id: str
    system: str
    name: str
    owner: str
    domain: str
    connector: str
    options: dict[str, Any]
    tables: tuple[Table, ...]
    sla: dict[str, dict]
    path: Path
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    def table_for(self, filename: str) -> Table | None:
        for t in self.tables:
            if t.file_pattern is not None and t.file_pattern.match(filename):
                return t
        return None

    @property
    def freshness_days(self) -> float | None:
        lat = self.sla.get("latency")
        if not lat:
            return None
        unit = str(lat.get("unit", "d")).lower()
        factor = {"d": 1, "day": 1, "days": 1, "h": 1 / 24, "y": 365, "yr": 365, "years": 365}[unit]
        return float(lat["value"]) * factor

    @property
    def retention(self) -> str | None:
        r = self.sla.get("retention")
        return f"{r['value']}{r.get('unit', '')}" if r else None


def _column(system: str, table: str, prop: dict) -> Column:
    cp = _custom(prop)
    parse = cp.get("parse", "text")
    if parse not in PARSE_KINDS:
        raise ContractError(f"{system}.{table}.{prop['name']}: unknown parse kind {parse!r}")
    cls = prop.get("classification")
    if cls not in CLASSIFICATIONS:
        raise ContractError(f"{system}.{table}.{prop['name']}: classification {cls!r} is not one of {CLASSIFICATIONS}")
    codes = cp.get("codes") or ()
    if isinstance(codes, dict):
        codes = tuple(codes)
    if parse == "code" and not codes:
        raise ContractError(f"{system}.{table}.{prop['name']}: parse code needs a codes list")
    rng = cp.get("bytes")
    return Column(
        name=prop["name"], physical_name=prop.get("physicalName", prop["name"]),
        physical_type=prop.get("physicalType", "VARCHAR"), classification=cls, parse=parse,
        required=bool(prop.get("required")), is_key=bool(prop.get("primaryKey")),
        description=str(prop.get("description", "") or ""), codes=tuple(str(c) for c in codes),
        pattern=(prop.get("logicalTypeOptions") or {}).get("pattern"),
        byte_range=(int(rng[0]), int(rng[1])) if rng else None,
        leading_zeros_lost=bool(cp.get("leadingZerosLost")),
    )


def load_contract(path: Path) -> Contract:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    opts = _custom(raw)
    system = opts.get("system")
    if not system:
        raise ContractError(f"{path.name}: customProperties needs a 'system'")
    tables = []
    for obj in raw["schema"]:
        tcp = _custom(obj)
        cols = tuple(_column(system, obj["name"], p) for p in obj["properties"])
        key = tuple(tcp.get("recordKey") or [c.name for c in cols if c.is_key])
        if not key or any(k not in {c.name for c in cols} for k in key):
            raise ContractError(f"{system}.{obj['name']}: recordKey {key} does not name its columns")
        pat = tcp.get("filePattern")
        tables.append(Table(system=system, name=obj["name"], physical_name=obj.get("physicalName", obj["name"]),
                            description=str(obj.get("description", "")), columns=cols, record_key=key,
                            file_pattern=re.compile(pat) if pat else None, options={**opts, **tcp}))
    team = raw.get("team") or {}
    return Contract(id=raw["id"], system=system, name=raw.get("name", system), owner=team.get("name", ""),
                    domain=raw.get("domain", ""), connector=opts.get("connector", ""), options=opts,
                    tables=tuple(tables), sla={s["property"]: s for s in raw.get("slaProperties") or []},
                    path=path, raw=raw)


POLICY_FILE_NAME = "access_policy.yaml"


@functools.cache
def _load_all(directory: str) -> dict[str, Contract]:
    out: dict[str, Contract] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        if path.name == POLICY_FILE_NAME:  # the access policy lives beside the contracts (access/)
            continue
        c = load_contract(path)
        if c.system in out:
            raise ContractError(f"two contracts for system {c.system}: {out[c.system].path.name}, {path.name}")
        out[c.system] = c
    return out


def contracts(directory: Path | None = None) -> dict[str, Contract]:
    """Every contract, keyed by system, in the order the systems are loaded."""
    return dict(_load_all(str(directory or CONTRACTS_DIR)))


def odcs_schema() -> dict:
    """The Open Data Contract Standard JSON schema shipped with open-data-contract-standard."""
    ref = importlib.resources.files("open_data_contract_standard").joinpath("schema.json")
    return json.loads(ref.read_text(encoding="utf-8"))
