"""The purpose catalog, the fields it can give out and the procedures it can prefill (``catalog.yaml``)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator


class Text(BaseModel):
    ja: str
    en: str


class LegalBasis(BaseModel):
    kind: Literal["law", "consent"] = Field(description="法令 (a named law) or 本人の同意 (the person's consent).")
    reference: str = Field(description="The article of law, or the consent clause.")


class Purpose(BaseModel):
    id: str
    name: Text
    legal_basis: LegalBasis
    subject: Literal["person", "business"]
    fields: list[str]
    recipients: list[Literal["department", "private"]] = Field(description="Kinds of client that may use it.")
    retention: str = Field(description="How long the recipient may keep the data (ISO 8601 duration).")


class FormField(BaseModel):
    label: str
    field: str | None = Field(description="The held field that fills it; null when the city holds nothing for it.")


class Attachment(BaseModel):
    name: str
    held_when: Literal["resident", "tax_assessed", "never"]


class Procedure(BaseModel):
    id: str
    name: Text
    purpose: str
    form: list[FormField]
    attachments: list[Attachment]


class FieldInfo(BaseModel):
    ja: str
    en: str
    source: str


class Catalog(BaseModel):
    person_fields: dict[str, FieldInfo]
    business_fields: dict
    purposes: list[Purpose]
    procedures: list[Procedure]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        restricted = set(self.business_fields.get("restricted", {}))
        ids = {p.id for p in self.purposes}
        for p in self.purposes:
            known = set(self.person_fields) if p.subject == "person" else restricted
            unknown = set(p.fields) - known
            if unknown:
                raise ValueError(f"purpose {p.id} needs unknown fields {sorted(unknown)}")
        for proc in self.procedures:
            if proc.purpose not in ids:
                raise ValueError(f"procedure {proc.id} names an unknown purpose {proc.purpose}")
            purpose = self.purpose(proc.purpose)
            missing = {f.field for f in proc.form if f.field} - set(purpose.fields)
            if missing:
                raise ValueError(f"procedure {proc.id} fills {sorted(missing)}, which its purpose does not cover")
        return self

    def purpose(self, purpose_id: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == purpose_id), None)

    def procedure(self, procedure_id: str) -> Procedure | None:
        return next((p for p in self.procedures if p.id == procedure_id), None)

    @property
    def business_public_fields(self) -> list[str]:
        return list(self.business_fields.get("public", []))


@functools.cache
def load_catalog() -> Catalog:
    text = resources.files("api").joinpath("catalog.yaml").read_text(encoding="utf-8")
    return Catalog.model_validate(yaml.safe_load(text))
