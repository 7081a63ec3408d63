"""Masking of 個人番号 in free text (raw lines kept for quarantine, error messages, logs), and text made
safe to log.

A 個人番号 can be written many ways: ASCII or full-width digits (or any digit NFKC turns into one),
grouped by spaces or hyphens (``1234 5678 9012``, ``1234-5678-9012``), or run into other digits. So a
span of digits and separators is read as its digits after NFKC normalization, and masked where

- it is exactly 12 digits in a row (the shape of a 個人番号, check digit or not), or
- any 12 consecutive digits of it (separators skipped) pass the 個人番号 check digit,

except a 13-digit span that is a valid 法人番号 (public by law). Only the characters of the masked digits
change; everything else in the text (a raw line kept for quarantine) stays as it was written.

What is masked in a log is what came from outside: the values of fields and paths. An identifier the platform
made itself (a request id: 32 hex digits, of which about one in thirty holds 12 decimal digits in a row, and
some of those pass the check digit) is logged as a :class:`PlatformId` argument, which the scrubber leaves as
it is: it cannot hold a 個人番号, and an operator needs it whole to find the request.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from core.ids import houjin_valid, my_number_check_digit

MASKED = "[個人番号: masked]"
# characters that may separate digit groups: spaces, hyphens and dashes, the long vowel mark typed for one
_SEPARATORS = " \t\u00a0\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70"


def _digit(ch: str) -> str | None:
    """The ASCII digit ``ch`` stands for after NFKC, or None."""
    if ch.isascii():
        return ch if ch.isdigit() else None
    norm = unicodedata.normalize("NFKC", ch)
    if len(norm) == 1 and norm.isdigit():
        try:
            return str(unicodedata.decimal(norm))
        except ValueError:
            return None
    return None


@functools.cache
def _span_pattern() -> re.Pattern:
    """Runs of at least 12 digits (any character NFKC makes a digit) joined by single separators; built on first
    use from the Unicode tables."""
    extra = [chr(c) for c in range(0x30000) if not re.match(r"\d", chr(c)) and _digit(chr(c)) is not None]
    d = "[\\d" + "".join(re.escape(c) for c in extra) + "]"
    sep = "[" + re.escape(_SEPARATORS) + "]"
    return re.compile(f"{d}(?:{sep}?{d}){{11,}}")


def _spans(text: str):
    """(digit positions in text, their ASCII digits) of each run of 12+ digits joined only by separators."""
    for m in _span_pattern().finditer(text):
        positions, digits = [], []
        for i in range(m.start(), m.end()):
            d = _digit(text[i])
            if d is not None:
                positions.append(i)
                digits.append(d)
        yield positions, "".join(digits)


def _passes(twelve: str) -> bool:
    return int(twelve[11]) == my_number_check_digit(twelve[:11])


def mask_my_numbers(text: str) -> str:
    """Every 個人番号 in free text, however written, blanked out digit by digit (see the module)."""
    if not text or len(text) < 12:
        return text
    masked: set[int] = set()
    for positions, digits in _spans(text):
        joined = positions[-1] - positions[0] + 1 == len(positions)  # no separator inside
        if joined and len(digits) == 12:
            masked.update(positions)  # the bare shape of a 個人番号: masked with or without its check digit
        elif len(digits) == 13 and houjin_valid(digits):
            continue
        else:  # grouped or run into other digits: wherever 12 of them pass the check digit
            for start in range(len(digits) - 11):
                if _passes(digits[start:start + 12]):
                    masked.update(positions[start:start + 12])
    if not masked:
        return text
    return "".join("*" if i in masked else ch for i, ch in enumerate(text))


class PlatformId(str):
    """An identifier the platform generated (letters, digits, ``-`` and ``_``, at most 64): a log argument of this
    type is written as it is, never masked. Anything else is refused, so it cannot carry a value from outside."""

    __slots__ = ()
    _SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")

    def __new__(cls, value: str) -> PlatformId:
        if not isinstance(value, str) or not cls._SHAPE.fullmatch(value):
            raise ValueError("a platform id is 1 to 64 letters, digits, '-' or '_'")
        return super().__new__(cls, value)


_HOLE = "\ue000"  # stands for a PlatformId while the rest of a message is masked: neither a digit nor a separator


def _scrubbed_message(record) -> str:
    """The record's message made :func:`loggable`, its :class:`PlatformId` arguments left whole."""
    args = record.args if isinstance(record.args, tuple) else ()
    kept = [a for a in args if isinstance(a, PlatformId)]
    if not kept:
        return loggable(record.getMessage())
    record.args = tuple(_HOLE if isinstance(a, PlatformId) else a for a in args)
    parts = loggable(record.getMessage()).split(_HOLE)
    if len(parts) != len(kept) + 1:  # a hole came from elsewhere too: mask the whole message instead
        record.args = args
        return loggable(record.getMessage())
    return "".join(p + k for p, k in zip(parts, [*kept, ""]))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """Control characters (newlines, escapes, bidirectional overrides) written as ``\\xNN`` / ``\\uNNNN``: one
    logged value is one line and cannot forge another."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else
                        f"\\u{ord(m.group()):04x}", text)


def loggable(text: str) -> str:
    """``text`` as it may be written to a log: 個人番号 masked, control characters escaped."""
    return escape_controls(mask_my_numbers(text))


def install_log_scrubbing() -> None:
    """Every log record of the process, whichever library writes it, made :func:`loggable` when it is
    created: its message (arguments included, but for :class:`PlatformId` ones) and any traceback text.
    Idempotent."""
    import logging

    current = logging.getLogRecordFactory()
    if getattr(current, "onesource_scrubbing", False):
        return

    def factory(*args, **kwargs):
        record = current(*args, **kwargs)
        try:
            record.msg = _scrubbed_message(record)
        except Exception:  # noqa: BLE001 - a message that cannot be formatted is logged by its template
            record.msg = loggable(str(record.msg))
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = loggable(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = loggable(record.stack_info)
        return record

    factory.onesource_scrubbing = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
