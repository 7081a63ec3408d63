"""The access policy (``data_contracts/access_policy.yaml``): roles, their grants, purposes and legal bases.

The file is reviewed data; this module only reads and checks it. A grant names a data product: a lake
table (``schema.table``) or a published set of files (``files:<name>``). The data team's role names zones
(schemas, ``product_*`` for every department's) instead of single products.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.settings import REPO_ROOT

POLICY_FILE = REPO_ROOT / "data_contracts" / "access_policy.yaml"
KINDS = ("operator", "department", "analyst", "service", "public")
RAW_ZONES = ("bronze", "quarantine", "ops", "staging", "identity")  # the data team's alone
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")  # a PostgreSQL role name without quoting


class PolicyError(ValueError):
    """The policy file is malformed or contradicts itself."""


@dataclass(frozen=True)
class Text:
    ja: str
    en: str


@dataclass(frozen=True)
class Grant:
    product: str  # schema.table, or files:<name>
    purpose: Text
    legal_basis: Text

    @property
    def is_table(self) -> bool:
        return not self.product.startswith("files:")

    @property
    def schema(self) -> str | None:
        return self.product.split(".", 1)[0] if self.is_table else None


@dataclass(frozen=True)
class Role:
    name: str
    kind: str
    title: Text
    teams: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ()
    purpose: Text | None = None  # for a role that holds zones
    legal_basis: Text | None = None

    @property
    def product_schema(self) -> str:
        """The schema of this department's own products."""
        return f"product_{self.name}"

    def may_read(self, schema: str, table: str) -> Grant | None:
        """The grant by which this role reads ``schema.table``, if any (zones give a grant of the zone)."""
        for g in self.grants:
            if g.product == f"{schema}.{table}":
                return g
        if any(fnmatch.fnmatchcase(schema, z) for z in self.zones):
            return Grant(f"{schema}.*", self.purpose, self.legal_basis)  # type: ignore[arg-type]
        return None


@dataclass(frozen=True)
class Policy:
    version: int
    roles: dict[str, Role] = field(default_factory=dict)

    def role(self, name: str) -> Role:
        if name not in self.roles:
            raise PolicyError(f"no role {name!r}; the roles are {', '.join(self.roles)}")
        return self.roles[name]

    def products(self) -> set[str]:
        """Every lake table some role other than the data team is granted."""
        return {g.product for r in self.roles.values() for g in r.grants if g.is_table}

    def readers(self, schema: str, table: str) -> list[tuple[Role, Grant]]:
        return [(r, g) for r in self.roles.values() if (g := r.may_read(schema, table)) is not None]


def _text(value, where: str) -> Text:
    if not isinstance(value, dict) or not value.get("ja") or not value.get("en"):
        raise PolicyError(f"{where}: needs both ja and en")
    return Text(str(value["ja"]), str(value["en"]))


def parse(doc: dict) -> Policy:
    """The policy from its parsed YAML; PolicyError naming the first thing wrong."""
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("roles"), dict):
        raise PolicyError("the policy needs version: 1 and a roles mapping")
    roles: dict[str, Role] = {}
    for name, spec in doc["roles"].items():
        if not ROLE_NAME.match(str(name)):
            raise PolicyError(f"role {name!r}: a role name is lowercase ASCII, digits and _ (a PostgreSQL role)")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise PolicyError(f"role {name}: kind {kind!r} is not one of {', '.join(KINDS)}")
        grants = []
        for i, g in enumerate(spec.get("grants") or []):
            product = str(g.get("product", ""))
            if not re.match(r"^([a-z_]+\.[a-z0-9_]+|files:[a-z0-9_]+)$", product):
                raise PolicyError(f"role {name}, grant {i + 1}: product {product!r} is not schema.table or files:name")
            grants.append(Grant(product, _text(g.get("purpose"), f"role {name}, {product}: purpose"),
                                _text(g.get("legal_basis"), f"role {name}, {product}: legal_basis")))
        zones = tuple(spec.get("zones") or ())
        if zones and kind != "operator":
            raise PolicyError(f"role {name}: only the operators' role holds whole zones")
        for g in grants:
            if g.schema in RAW_ZONES and not (kind == "service" and g.product == "ops.releases"):
                raise PolicyError(f"role {name}: {g.product} is in a raw zone ({g.schema}), the data team's alone")
            if g.schema and g.schema.startswith("product_") and g.schema != f"product_{name}":
                raise PolicyError(f"role {name}: {g.product} is another department's product")
        roles[name] = Role(name=name, kind=kind, title=_text(spec.get("name"), f"role {name}: name"),
                           teams=tuple(spec.get("teams") or ()), zones=zones, grants=tuple(grants),
                           purpose=_text(spec["purpose"], f"role {name}: purpose") if zones else None,
                           legal_basis=_text(spec["legal_basis"], f"role {name}: legal_basis") if zones else None)
    if not any(r.kind == "operator" for r in roles.values()):
        raise PolicyError("the policy names no operators' role (the data team)")
    return Policy(version=1, roles=roles)


@functools.cache
def _load(path: Path, mtime_ns: int) -> Policy:
    return parse(read_doc(path))


def read_doc(path: Path | None = None) -> dict:
    """The policy file as parsed YAML (to derive a changed policy from it, as a review would)."""
    return yaml.safe_load((path or POLICY_FILE).read_text(encoding="utf-8"))


def load(path: Path | None = None) -> Policy:
    path = path or POLICY_FILE
    return _load(path, path.stat().st_mtime_ns)
