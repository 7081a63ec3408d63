"""Check digits of the identifiers in ../shared/spec/source-systems.md.

宛名番号 / 世帯番号 (7-digit serial + mod-11 check digit), 個人番号 (12 digits,
mod-11 on the first 11), 法人番号 (13 digits, mod-9 check digit first).
"""

from __future__ import annotations

_ATENA_WEIGHTS = (2, 3, 4, 5, 6, 7, 2)
_MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def atena_check_digit(serial: str) -> int:
    """Check digit of a 7-digit 宛名番号 serial (weights 2..7,2 from the right)."""
    b = serial.encode("ascii")  # unrolled: this runs for every 宛名番号 and 世帯番号 of a city-wide load
    r = ((b[6] - 48) * 2 + (b[5] - 48) * 3 + (b[4] - 48) * 4 + (b[3] - 48) * 5 + (b[2] - 48) * 6
         + (b[1] - 48) * 7 + (b[0] - 48) * 2) % 11
    return 0 if r <= 1 else 11 - r


def make_atena(serial: int) -> str:
    s = f"{serial:07d}"
    return s + str(atena_check_digit(s) % 10)


def atena_valid(value: str | None) -> bool:
    if value is None or len(value) != 8 or not value.isascii() or not value.isdigit():
        return False
    cd = atena_check_digit(value[:7])
    return cd <= 9 and int(value[7]) == cd


def my_number_check_digit(first11: str) -> int:
    b = first11.encode("ascii")
    r = sum((b[i] - 48) * w for i, w in enumerate(_MY_NUMBER_WEIGHTS)) % 11
    return 0 if r <= 1 else 11 - r


def make_my_number(first11: int) -> str:
    s = f"{first11:011d}"
    return s + str(my_number_check_digit(s))


def my_number_valid(value: str | None) -> bool:
    if value is None or len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    return int(value[11]) == my_number_check_digit(value[:11])


def houjin_check_digit(base12: str) -> int:
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(base12)))
    return 9 - total % 9


def make_houjin_bango(base12: str) -> str:
    return str(houjin_check_digit(base12)) + base12


def houjin_valid(value: str | None) -> bool:
    if value is None or len(value) != 13 or not value.isascii() or not value.isdigit():
        return False
    return int(value[0]) == houjin_check_digit(value[1:])
