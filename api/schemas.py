"""Response models: they document the API (OpenAPI) in Japanese and English."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field, field_validator

PERSON_ID = r"^P[0-9]{9}$"
HOUJIN_BANGO = r"^[0-9]{13}$"
CATALOG_ID = r"^[a-z][a-z0-9_]{0,63}$"
CONSENT_MAX_YEARS = 10  # a longer consent is "until revoked" (expires_at null), which the resident can end


class ErrorBody(BaseModel):
    code: str = Field(description="Stable error code.")
    message: str = Field(description="What went wrong; never echoes the request's values.")


class Error(BaseModel):
    error: ErrorBody


class PurposeRef(BaseModel):
    id: str
    name: dict[str, str]
    legal_basis: dict[str, str]
    retention: str


class PersonData(BaseModel):
    """利用目的に必要な項目だけを返す / Only the fields the purpose needs."""

    person_id: str
    purpose: PurposeRef
    consent_id: str | None = Field(description="The consent relied on; null when a law is the basis.")
    snapshot_id: int = Field(description="Lake snapshot every value was read from.")
    release_id: int
    access_log_seq: int = Field(description="This disclosure's entry in the access log.")
    data: dict[str, Any]


class Prefill(BaseModel):
    """ワンスオンリー: 市が保有する項目の事前入力と、提出不要な添付書類 / What the city already holds."""

    procedure: dict[str, Any]
    person_id: str
    form: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    fields_prefilled: int
    attachments_not_needed: int
    snapshot_id: int
    access_log_seq: int


class Business(BaseModel):
    """法人番号による事業者情報: 公表情報は認証不要、その他は利用目的による / Public registry data, the rest by purpose."""

    houjin_bango: str
    business_id: str
    public: dict[str, Any]
    purpose: PurposeRef | None = None
    restricted: dict[str, Any] | None = None
    snapshot_id: int
    access_log_seq: int | None = None


class AccessLogEntry(BaseModel):
    seq: int
    at: str
    recipient: dict[str, Any]
    actor: dict[str, Any] = Field(description="Who did it: the client, the person themself, or (for a "
                                              "household member's own procedure) that member.")
    purpose: dict[str, Any] | None
    legal_basis: str | None
    consent_id: str | None
    fields: list[str]
    outcome: str = Field(description="disclosed, prefilled, or denied:<reason>.")
    snapshot_id: int | None


class ConsentRequest(BaseModel):
    purpose_id: str = Field(pattern=CATALOG_ID, description="利用目的 / purpose from the catalog.")
    recipient: str = Field(pattern=r"^[a-z0-9]{12}$", description="提供先クライアント / the recipient client id.")
    expires_at: str | None = Field(default=None, description="有効期限 (ISO 8601); null: until revoked.",
                                   pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")

    @field_validator("expires_at")
    @classmethod
    def _within_range(cls, value: str | None) -> str | None:
        """A real instant, in the future, at most CONSENT_MAX_YEARS ahead; normalized to UTC."""
        if value is None:
            return None
        try:
            at = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
        except (ValueError, OverflowError):
            raise ValueError("expires_at is not a valid instant") from None
        now = dt.datetime.now(dt.UTC)
        if at <= now:
            raise ValueError("expires_at lies in the past")
        if at > now + dt.timedelta(days=366 * CONSENT_MAX_YEARS):
            raise ValueError(f"expires_at lies more than {CONSENT_MAX_YEARS} years ahead; leave it out for a "
                             "consent until revoked")
        return at.isoformat()
