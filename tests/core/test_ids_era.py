import datetime as dt

import pytest

from core.era import FREE_FORMS, EraDateError, format_free, parse_era7, parse_free_date, to_era7
from core.ids import atena_valid, houjin_valid, make_atena, make_houjin_bango, make_my_number, my_number_valid


def test_spec_examples():
    assert my_number_valid("123456789018")
    assert not my_number_valid("123456789017")
    assert houjin_valid("7000012050002")
    assert not houjin_valid("7000012050003")
    assert atena_valid("01457748")  # from the spec's example landing zone
    assert not atena_valid("01457749")


@pytest.mark.parametrize("serial", [0, 1, 1234567, 9999999, 145774])
def test_made_numbers_validate(serial):
    assert atena_valid(make_atena(serial))
    assert my_number_valid(make_my_number(serial * 7919))
    assert houjin_valid(make_houjin_bango(f"{serial:012d}"))


def test_every_single_digit_change_is_caught():
    good = make_atena(1234567)
    for i in range(8):
        for d in "0123456789":
            bad = good[:i] + d + good[i + 1:]
            assert atena_valid(bad) == (bad == good)


@pytest.mark.parametrize("day,code", [
    (dt.date(1970, 3, 12), "3450312"), (dt.date(1912, 7, 29), "1450729"), (dt.date(1912, 7, 30), "2010730"),
    (dt.date(1926, 12, 25), "3011225"), (dt.date(1989, 1, 8), "4010108"), (dt.date(2019, 5, 1), "5010501"),
])
def test_era7_boundaries(day, code):
    assert to_era7(day) == code
    assert parse_era7(code).date == day


def test_unknown_parts_are_kept_unknown():
    assert to_era7(dt.date(1970, 3, 12), "month") == "3450300"
    assert parse_era7("3450300").precision == "month" and parse_era7("3450300").date is None
    assert parse_era7("3450000").precision == "year"
    assert parse_era7("0000000").precision == "unknown"


@pytest.mark.parametrize("bad", ["3450230", "3451301", "4320101", "6010101", "2160101"])
def test_non_calendar_or_out_of_era_dates_raise(bad):
    with pytest.raises(EraDateError):
        parse_era7(bad)


@pytest.mark.parametrize("form", FREE_FORMS)
def test_free_forms_round_trip(form):
    for day in (dt.date(1970, 3, 12), dt.date(1990, 12, 25), dt.date(2019, 5, 1), dt.date(1925, 1, 31)):
        assert parse_free_date(format_free(day, form)).date == day


def test_free_forms_of_the_spec():
    assert parse_free_date("昭和45年3月12日").date == dt.date(1970, 3, 12)
    assert parse_free_date("S45.3.12").date == dt.date(1970, 3, 12)
    assert parse_free_date("R1.5.1").date == dt.date(2019, 5, 1)
    assert parse_free_date("令和元年5月1日").date == dt.date(2019, 5, 1)
    assert parse_free_date(25639).date == dt.date(1970, 3, 12)  # an Excel serial
    with pytest.raises(EraDateError):
        parse_free_date("平成2年2月30日")
