"""One config for the simulator: the size of the city and every noise rate.

Defaults are realistic for a city's departmental extracts: cosmetic noise at a
few percent, unreadable rows at a few per ten thousand. Each rate is the
probability that one eligible record (or field) gets that fault; the manifest
written with the truth files reports how many were eligible and how many got it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import BaseModel, Field


class NoiseRates(BaseModel):
    # --- rows that cannot be read or identified: quarantined by ingestion --------------
    undecodable_bytes: float = Field(0.0005, description="juki/zei rows with a byte sequence that is not CP932")
    truncated_record: float = Field(0.0005, description="zei records cut short; juki/madoguchi/kokuho lines cut")
    bad_key_check_digit: float = Field(0.0005, description="key 宛名番号 (juki, zei) or corporateNumber failing its check digit")
    malformed_key: float = Field(0.0005, description="hihokensha_bango, 申込番号, shinsei_bango, 受付番号 not in their format")
    missing_key: float = Field(0.0002, description="the record key left empty")
    # --- rows kept with one field flagged -------------------------------------------------
    invalid_date: float = Field(0.001, description="non-calendar dates such as 2月30日")
    bad_my_number: float = Field(0.002, description="個人番号 with a failing check digit")
    bad_hand_typed_atena: float = Field(0.03, description="hand-typed 宛名番号 (kosodate, madoguchi) transposed or mistyped")
    bad_houjin_bango: float = Field(0.02, description="法人番号 typed in keiyaku/hojokin failing its check digit")
    unknown_code: float = Field(0.0005, description="a code outside its list (性別, 続柄, 異動事由, 課税区分, 拠点)")
    # --- well-formed keys of someone else: only the rest of the record tells -----------------------
    borrowed_houjin_keiyaku: float = Field(
        0.01, description="keiyaku vendor registrations carrying another firm's valid 法人番号 (a related firm's "
        "number copied, or a typo that still passes the check digit)")
    borrowed_houjin_hojokin: float = Field(0.005, description="hojokin applications with another firm's 法人番号")
    borrowed_atena: float = Field(
        0.005, description="hand-typed 宛名番号 (kosodate, madoguchi) that is a family member's")
    # --- cosmetic noise: the row is fine, matching is harder --------------------------------
    fullwidth: float = Field(0.05, description="digits, letters, spaces, hyphens written full-width")
    halfwidth_kana: float = Field(0.05, description="katakana written half-width where full-width is usual")
    hiragana_for_katakana: float = Field(0.10, description="kana written in hiragana (kosodate, hojokin)")
    hyphen_variant: float = Field(0.15, description="hyphens as ‐ − － ー ｰ instead of -")
    itaiji: float = Field(0.5, description="a name holding a variant character written in its other form")
    gaiji_geta: float = Field(0.002, description="a 外字 exported as 〓 by the registry")
    spacing_variant: float = Field(0.15, description="the space between surname and given name missing or ASCII")
    kana_variant: float = Field(0.02, description="ヴ/ブ, ヂ/ジ, ヅ/ズ, ヶ/ケ swapped")
    typo: float = Field(0.01, description="one-character typo in a hand-typed name")
    old_address: float = Field(0.3, description="a system outside the registry still holding the address before a move")
    address_style: float = Field(0.5, description="an address written with prefix, digits or hyphen chains")
    hoshogaki_glued: float = Field(0.1, description="方書 glued to the address with no space")
    excel_serial: float = Field(0.05, description="kosodate dates typed as Excel serial numbers")
    date_text: float = Field(0.3, description="kosodate dates typed as text instead of date cells")
    leading_zero_dropped: float = Field(0.5, description="kosodate 宛名番号 typed as a number (Excel drops leading zeros)")
    unknown_birth_day: float = Field(0.002, description="birth dates with an unknown day (DD=00)")
    unknown_birth_month: float = Field(0.0005, description="birth dates with unknown month and day")
    # --- deliveries -------------------------------------------------------------------------
    resend: float = Field(0.03, description="a delivery re-sent byte-identically the next day")
    stale_resend_hojokin: float = Field(0.01, description="an older version of a hojokin document delivered again")


class SimConfig(BaseModel):
    residents: int = Field(2000, ge=50)
    days: int = Field(3, ge=0)
    seed: int = 42
    start: dt.date = Field(dt.date(2026, 10, 1), description="date of the initial full delivery")
    persons_per_household: float = 1.88  # 498,500 residents / 264,800 households
    removed_record_share: float = Field(0.08, description="除票 (moved out, dead) among juki records at start")
    registered_twice: float = Field(0.003, description="persons who left, came back and hold two 宛名番号")
    jutogai_share: float = Field(0.02, description="住登外者 among zei records")
    my_number_share: float = Field(0.93, description="juki records with a 個人番号")
    kokuho_household_share: float = Field(0.22)
    child_allowance_claim_rate: float = Field(
        0.85, description="households moving in with a child entitled to 児童手当 who claim it when they register "
        "(the rest are the push-type outreach's cases); a birth is always claimed")
    businesses_per_resident: float = Field(1 / 30)
    neighbour_business_share: float = Field(0.15, description="corporations in neighbouring cities")
    vendor_share: float = Field(0.12, description="corporations registered as keiyaku vendors")
    min_daily_events: float = Field(
        0.4, description="floor of each kind of life or business event's expected daily count, so that a "
        "small city still sees births, marriages, closures …; a 500,000-resident city is above it anyway")
    noise: NoiseRates = Field(default_factory=NoiseRates)

    @classmethod
    def from_file(cls, path: Path, **overrides: object) -> SimConfig:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(data)

    @property
    def scale(self) -> float:
        """The simulated city's size relative to Ichikawa (498,500 residents)."""
        return self.residents / 498_500
