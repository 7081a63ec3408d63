"""Field parsers: what is a usable value, what is flagged and why."""

from __future__ import annotations

import datetime as dt

import pytest

from core.ids import make_atena, make_my_number
from ingestion import fields
from ingestion.contracts import contracts
from ingestion.tokens import Tokenizer


def _col(table: str, name: str):
    for c in contracts().values():
        for t in c.tables:
            if t.name == table:
                return t.column(name)
    raise KeyError(table)


@pytest.mark.parametrize(("value", "expected"), [
    ("3450312", ("3450312", None)), ("3450300", ("3450300", None)), ("3450000", ("3450000", None)),
    ("0000000", ("0000000", None)), ("3450230", (None, "invalid_date")), ("4010107", (None, "invalid_date")),
    ("4010108", ("4010108", None)), ("9450312", (None, "invalid_date")), ("", (None, None)),
])
def test_era7_keeps_unknown_days_and_flags_non_calendar_dates(value, expected):
    assert fields.parse_era7_text(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("S60.4.1", dt.date(1985, 4, 1)), ("令和元年5月1日", dt.date(2019, 5, 1)), ("R1.5.1", dt.date(2019, 5, 1)),
    ("1985/2/3", dt.date(1985, 2, 3)), ("１９８５－０２－０３", dt.date(1985, 2, 3)), (45950, dt.date(2025, 10, 20)),
    (dt.datetime(2025, 10, 15), dt.date(2025, 10, 15)), ("19700312", dt.date(1970, 3, 12)),
])
def test_free_dates_in_every_form_of_the_spec(value, expected):
    assert fields.parse_free(value) == (expected, None)


@pytest.mark.parametrize("value", ["1985/2/30", "平成2年2月30日", "S64.1.8", "not a date"])
def test_free_dates_that_are_not_calendar_dates_are_flagged(value):
    assert fields.parse_free(value) == (None, "invalid_date")


def test_hand_typed_atena_restores_lost_zeros_and_checks_the_digit():
    atena = make_atena(123)
    parse = fields.parser_for(_col("kosodate__moushikomi", "jido_atena_bango"), Tokenizer(b"k" * 32))
    assert parse(int(atena)) == (atena, None)
    assert parse("０" * 4 + atena[4:]) == (atena, None)  # full-width digits typed at the window
    wrong = atena[:-1] + str((int(atena[-1]) + 1) % 10)
    assert parse(wrong) == (None, "bad_check_digit_atena")


def test_key_atena_that_is_malformed_is_a_key_fault():
    parse = fields.parser_for(_col("juki__jumin", "atena_bango"), Tokenizer(b"k" * 32))
    assert parse("1234567")[1] == "malformed_key"
    assert parse("")[1] is None and parse("")[0] is None  # the pipeline turns an empty key into missing_key


def test_my_number_becomes_a_token_or_a_flag_never_itself():
    parse = fields.parser_for(_col("juki__jumin", "kojin_bango"), Tokenizer(b"k" * 32))
    number = make_my_number(12345678901)
    token, reason = parse(number)
    assert reason is None and len(token) == 64 and number not in token
    bad = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert parse(bad) == (None, "bad_check_digit_my_number")
    assert parse("") == (None, None)


def test_unknown_codes_are_flagged_and_known_codes_kept():
    parse = fields.parser_for(_col("juki__jumin", "zokugara"), Tokenizer(b"k" * 32))
    assert parse("妻(未届)") == ("妻(未届)", None)
    assert parse("その他") == (None, "unknown_code")


def test_fixed_width_text_loses_only_its_padding():
    assert fields._text("市川　太郎\u3000\u3000\u3000 ") == "市川　太郎"
    assert fields._text("\u3000\u3000") is None
