"""Japanese era dates: the 7-digit era code of the registry and the free-text forms.

The 7-digit form is ``E YY MM DD`` with era 1 明治 … 5 令和. ``DD = 00`` means the
day is unknown, ``MMDD = 0000`` month and day unknown, ``0000000`` unknown.
Unknown parts are kept as unknown (never invented): :class:`EraDate` carries
the year/month/day that are known and a precision.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# (code, kanji, latin initial, first day)
ERAS: tuple[tuple[int, str, str, dt.date], ...] = (
    (1, "明治", "M", dt.date(1868, 1, 25)),
    (2, "大正", "T", dt.date(1912, 7, 30)),
    (3, "昭和", "S", dt.date(1926, 12, 25)),
    (4, "平成", "H", dt.date(1989, 1, 8)),
    (5, "令和", "R", dt.date(2019, 5, 1)),
)
_BY_CODE = {e[0]: e for e in ERAS}
_BY_NAME = {e[1]: e for e in ERAS} | {e[2]: e for e in ERAS}
EXCEL_EPOCH = dt.date(1899, 12, 30)


def era_of(day: dt.date) -> tuple[int, str, str, dt.date]:
    for era in reversed(ERAS):
        if day >= era[3]:
            return era
    raise ValueError(f"date before 明治: {day}")


def era_year(day: dt.date) -> tuple[tuple[int, str, str, dt.date], int]:
    era = era_of(day)
    return era, day.year - era[3].year + 1


@dataclass(frozen=True)
class EraDate:
    """A possibly partial date: ``precision`` is 'day', 'month', 'year' or 'unknown'."""

    year: int | None
    month: int | None
    day: int | None

    @property
    def precision(self) -> str:
        if self.year is None:
            return "unknown"
        if self.month is None:
            return "year"
        if self.day is None:
            return "month"
        return "day"

    @property
    def date(self) -> dt.date | None:
        """The full date, only when the day is known."""
        if self.precision != "day":
            return None
        return dt.date(self.year, self.month, self.day)  # type: ignore[arg-type]


def to_era7(day: dt.date | None, precision: str = "day") -> str:
    """Encode a date as the registry's 7-digit era code (unknown parts as 00)."""
    if day is None or precision == "unknown":
        return "0000000"
    era, yy = era_year(day)
    mm = day.month if precision in ("day", "month") else 0
    dd = day.day if precision == "day" else 0
    return f"{era[0]}{yy:02d}{mm:02d}{dd:02d}"


class EraDateError(ValueError):
    """A date that cannot be read: the reason says why (non-calendar, bad era, …)."""


def parse_era7(value: str) -> EraDate:
    """Decode the 7-digit form; raise :class:`EraDateError` for a non-calendar date."""
    if len(value) != 7 or not value.isdigit():
        raise EraDateError(f"not a 7-digit era date: {value!r}")
    if value == "0000000":
        return EraDate(None, None, None)
    code, yy, mm, dd = int(value[0]), int(value[1:3]), int(value[3:5]), int(value[5:7])
    if code not in _BY_CODE:
        raise EraDateError(f"unknown era code {code}")
    if yy == 0:
        raise EraDateError("era year 00")
    year = _BY_CODE[code][3].year + yy - 1
    return _checked(code, year, mm or None, dd or None, value)


def _checked(code: int, year: int, month: int | None, day: int | None, raw: str) -> EraDate:
    if month is None and day is not None:
        raise EraDateError(f"day without month: {raw!r}")
    if month is not None and not 1 <= month <= 12:
        raise EraDateError(f"month {month} out of range: {raw!r}")
    if day is not None:
        try:
            d = dt.date(year, month, day)  # type: ignore[arg-type]
        except ValueError as exc:
            raise EraDateError(f"non-calendar date {raw!r}: {exc}") from None
        era = _BY_CODE[code]
        nxt = _BY_CODE.get(code + 1)
        if d < era[3] or (nxt is not None and d >= nxt[3]):
            raise EraDateError(f"{raw!r} lies outside the era {era[1]}")
    return EraDate(year, month, day)


_KANJI_ERA = re.compile(r"^(明治|大正|昭和|平成|令和)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日$")
_LATIN_ERA = re.compile(r"^([MTSHR])(\d{1,2})\.(\d{1,2})\.(\d{1,2})$")
_WESTERN = re.compile(r"^(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_free_date(value: str | int | float | dt.date | dt.datetime) -> EraDate:
    """Parse any date form of the spec: era kanji, era initial, western, compact, Excel serial."""
    if isinstance(value, dt.datetime):
        return EraDate(value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return EraDate(value.year, value.month, value.day)
    if isinstance(value, (int, float)):
        return _from_serial(value)
    text = value.strip()
    for pattern in (_KANJI_ERA, _LATIN_ERA):
        m = pattern.match(text)
        if m:
            era = _BY_NAME[m.group(1)]
            yy = 1 if m.group(2) == "元" else int(m.group(2))
            return _checked(era[0], era[3].year + yy - 1, int(m.group(3)), int(m.group(4)), text)
    m = _WESTERN.match(text) or _COMPACT.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            dt.date(y, mo, d)
        except ValueError as exc:
            raise EraDateError(f"non-calendar date {text!r}: {exc}") from None
        return EraDate(y, mo, d)
    if text.isdigit() and 1 <= len(text) <= 5:
        return _from_serial(int(text))
    raise EraDateError(f"unrecognised date form {text!r}")


def _from_serial(serial: float) -> EraDate:
    if not 1 <= serial < 2958466:
        raise EraDateError(f"Excel serial out of range: {serial}")
    d = EXCEL_EPOCH + dt.timedelta(days=int(serial))
    return EraDate(d.year, d.month, d.day)


def to_excel_serial(day: dt.date) -> int:
    return (day - EXCEL_EPOCH).days


def format_free(day: dt.date, form: str) -> str:
    """Write a date in one of the free-text forms the departmental systems use."""
    era, yy = era_year(day)
    y = "元" if yy == 1 else str(yy)
    if form == "kanji_era":
        return f"{era[1]}{y}年{day.month}月{day.day}日"
    if form == "latin_era":
        return f"{era[2]}{yy}.{day.month}.{day.day}"
    if form == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if form == "iso":
        return day.isoformat()
    if form == "compact":
        return day.strftime("%Y%m%d")
    raise ValueError(form)


FREE_FORMS = ("kanji_era", "latin_era", "slash", "iso", "compact")
