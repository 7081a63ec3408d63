"""Field parsers, one per ``parse`` kind of the contracts.

Each parser maps a value as delivered to ``(value for bronze, reason or None)``.
A reason means the field is unusable: the row keeps its place, the field is
null in bronze and the raw value goes to the field-issue table (or, for the
record key, the row goes to quarantine). Results are memoised per distinct
value, which is what makes a city-scale load fast: dates and codes repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Callable
from typing import Any

from core.clock import JST
from core.era import EraDateError, parse_era7, parse_free_date
from core.ids import atena_valid, houjin_valid
from ingestion.contracts import Column
from ingestion.tokens import Tokenizer

Result = tuple[Any, str | None]
_OK_NONE: Result = (None, None)


def _text(v: Any) -> str | None:
    """A delivered value as text; empty means null. Fixed-width padding (full-width and ASCII spaces) is dropped."""
    if type(v) is str:
        return v.rstrip("\u3000 ") or None
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    s = str(v).rstrip("\u3000 ")
    return s or None


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip()


def parse_atena(v: Any, leading_zeros_lost: bool = False) -> Result:
    s = _text(v)
    if s is None:
        return _OK_NONE
    d = s if (len(s) == 8 and s.isascii()) else _nfkc(s)
    if leading_zeros_lost and d.isdigit() and len(d) < 8:
        d = d.zfill(8)
    if len(d) != 8 or not d.isascii() or not d.isdigit():
        return None, "malformed_id"
    return (d, None) if atena_valid(d) else (None, "bad_check_digit_atena")


def parse_houjin(v: Any) -> Result:
    s = _text(v)
    if s is None:
        return _OK_NONE
    d = _nfkc(s)
    if len(d) != 13 or not d.isascii() or not d.isdigit():
        return None, "bad_check_digit_houjin"
    return (d, None) if houjin_valid(d) else (None, "bad_check_digit_houjin")


def parse_era7_text(v: Any) -> Result:
    s = _text(v)
    if s is None:
        return _OK_NONE
    try:
        parse_era7(s)
    except EraDateError:
        return None, "invalid_date"
    return s, None


def parse_yyyymmdd(v: Any) -> Result:
    s = _text(v)
    if s is None:
        return _OK_NONE
    if len(s) != 8 or not s.isdigit():
        return None, "invalid_date"
    try:
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:])), None
    except ValueError:
        return None, "invalid_date"


def parse_iso_date(v: Any) -> Result:
    if isinstance(v, dt.datetime):
        return v.date(), None
    if isinstance(v, dt.date):
        return v, None
    s = _text(v)
    if s is None:
        return _OK_NONE
    try:
        return dt.date.fromisoformat(_nfkc(s)[:10]), None
    except ValueError:
        return None, "invalid_date"


def parse_free(v: Any) -> Result:
    if v is None or (isinstance(v, str) and not v.strip()):
        return _OK_NONE
    if isinstance(v, dt.time):  # a time of day typed into a date column
        return None, "invalid_date"
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and \
            10_000_000 <= v <= 99_999_999:  # an 8-digit number in a workbook cell: YYYYMMDD, not an Excel serial
        v = str(int(v))
    try:
        d = parse_free_date(_nfkc(v) if isinstance(v, str) else v)
    except EraDateError:
        return None, "invalid_date"
    return (d.date, None) if d.date is not None else (None, "invalid_date")


def parse_datetime(v: Any) -> Result:
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None), None
    s = _text(v)
    if s is None:
        return _OK_NONE
    try:
        if len(s) != 19 or s[4] != "-" or s[7] != "-" or s[10] != " " or s[13] != ":" or s[16] != ":":
            raise ValueError(s)
        return dt.datetime(int(s[:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19])), None
    except ValueError:
        return None, "invalid_date"


def parse_timestamptz(v: Any) -> Result:
    if isinstance(v, dt.datetime):
        ts = v
    else:
        s = _text(v)
        if s is None:
            return _OK_NONE
        try:
            ts = dt.datetime.fromisoformat(s)
        except ValueError:
            return None, "invalid_date"
    return (ts if ts.tzinfo else ts.replace(tzinfo=JST)), None


INT64 = range(-2 ** 63, 2 ** 63)  # what a BIGINT column holds
_LONGEST = 40  # characters: longer than any BIGINT however written (sign, zero padding, separators)


def _in_range(n: int) -> Result:
    return (n, None) if n in INT64 else (None, "out_of_range")


def parse_integer(v: Any) -> Result:
    """An integer of a BIGINT column; one beyond its range is a flagged field (``out_of_range``), never an
    overflow that would fail the delivery; digits past any BIGINT's length are not even converted (Python
    refuses a conversion of more than 4,300 digits)."""
    if isinstance(v, bool):
        return int(v), None
    if isinstance(v, int):
        return _in_range(v)
    s = _text(v)
    if s is None:
        return _OK_NONE
    if len(s) > _LONGEST:
        digits = _nfkc(s).strip().lstrip("+-").replace(",", "")
        return (None, "out_of_range") if digits.isdigit() and digits.lstrip("0") else (None, "invalid_number")
    try:
        return _in_range(int(s))  # int() takes zero padding, surrounding spaces and full-width digits
    except ValueError:
        pass
    try:
        return _in_range(int(_nfkc(s).replace(",", "")))
    except ValueError:
        return None, "invalid_number"


def parse_boolean(v: Any) -> Result:
    if v is None or isinstance(v, bool):
        return v, None
    s = str(v).strip().lower()
    if s in ("1", "true", "t", "yes"):
        return True, None
    if s in ("0", "false", "f", "no"):
        return False, None
    return (None, None) if not s else (None, "invalid_boolean")


def parse_json(v: Any) -> Result:
    if v is None:
        return _OK_NONE
    return (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)), None


def _cached(fn: Callable[[Any], Result]) -> Callable[[Any], Result]:
    memo: dict[Any, Result] = {}

    def parse(v: Any) -> Result:
        try:
            return memo[v]
        except KeyError:
            r = memo[v] = fn(v)
            return r
        except TypeError:  # unhashable (a JSON list)
            return fn(v)

    return parse


def parser_for(col: Column, tokenizer: Tokenizer) -> Callable[[Any], Result]:
    """The parser of one contract column (memoised where values repeat)."""
    kind = col.parse
    if kind == "my_number":
        def token(v: Any) -> Result:
            if v is None or (isinstance(v, str) and not v.strip()):
                return _OK_NONE
            t = tokenizer.token(v)
            return (t, None) if t else (None, "bad_check_digit_my_number")
        return token
    if kind == "text":
        rx = col.regex
        if rx is None:
            return lambda v: (_text(v), None)

        def text(v: Any) -> Result:
            s = _text(v)
            if s is None:
                return _OK_NONE
            return (s, None) if rx.match(s) else (None, "malformed_key" if col.is_key else "pattern_mismatch")
        return _cached(text)
    if kind == "code":
        codes = frozenset(col.codes)

        def code(v: Any) -> Result:
            s = _text(v)
            if s is None:
                return _OK_NONE
            return (s, None) if s in codes else (None, "unknown_code")
        return _cached(code)
    if kind == "atena":
        lz = col.leading_zeros_lost

        def atena(v: Any) -> Result:
            value, reason = parse_atena(v, lz)
            if reason == "malformed_id" and col.is_key:
                reason = "malformed_key"
            return value, reason
        return atena
    simple = {"houjin_bango": parse_houjin, "era7": parse_era7_text, "yyyymmdd": parse_yyyymmdd,
              "date": parse_iso_date, "free_date": parse_free, "datetime": parse_datetime,
              "timestamptz": parse_timestamptz, "integer": parse_integer, "boolean": parse_boolean,
              "json": parse_json}[kind]
    repeating = {"era7", "yyyymmdd", "date", "free_date", "boolean"}
    return _cached(simple) if kind in repeating else simple
