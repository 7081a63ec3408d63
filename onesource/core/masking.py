"""Masking of 個人番号 in free text: raw lines kept for quarantine, error messages, request logs."""

from __future__ import annotations

import re

# 12 digits (ASCII or full-width) not part of a longer digit run: the shape of a 個人番号
_TWELVE_DIGITS = re.compile(r"(?<![0-9０-９])[0-9０-９]{12}(?![0-9０-９])")
MASKED = "[個人番号: masked]"


def mask_my_numbers(text: str) -> str:
    """Any 12-digit run in free text blanked out."""
    return _TWELVE_DIGITS.sub("************", text)
