"""Normalization: every variant form of the spec's list folds to one key; display keeps the registered form."""

from __future__ import annotations

import pytest

from core.towns import load_towns
from identity.normalize import (
    company,
    fold_itaiji,
    kana_display,
    kana_key,
    name_display,
    name_key,
    parse_address,
    phone_key,
    split_name,
)


@pytest.mark.parametrize(("variant", "standard"), [
    ("髙", "高"), ("﨑", "崎"), ("邊", "辺"), ("邉", "辺"), ("齋", "斎"), ("澤", "沢"), ("廣", "広"), ("國", "国"),
    ("濱", "浜"), ("𠮷", "吉"),
])
def test_itaiji_fold_through_the_mj_shrink_map(variant, standard):
    assert fold_itaiji(variant) == standard
    assert fold_itaiji(standard) == standard


def test_name_key_ignores_spacing_width_and_itaiji_but_display_keeps_the_registered_form():
    forms = ["髙橋　﨑子", "高橋 崎子", "高橋崎子", "髙橋  﨑子"]
    assert {name_key(f) for f in forms} == {"高橋崎子"}
    assert name_display("髙橋 﨑子") == "髙橋　﨑子"
    assert name_key("〓田　花子") == "〓田花子"  # the 外字 marker survives for wildcard comparison
    assert split_name("市川太郎") == ("市川太郎", None)
    assert split_name("市川　太郎") == ("市川", "太郎")
    assert name_key(None) is None and name_key("　") is None


@pytest.mark.parametrize("form", ["ｲﾁｶﾜ ﾀﾛｳ", "イチカワ　タロウ", "いちかわ たろう", "イチカワタロウ", "ｲﾁｶﾜﾀﾛｳ"])
def test_kana_key_folds_width_hiragana_and_spacing(form):
    assert kana_key(form) == "イチカワタロウ"


@pytest.mark.parametrize(("a", "b"), [("ヴィオラ", "ビオラ"), ("ヴ", "ブ"), ("ヂュン", "ジュン"), ("ミヅキ", "ミズキ"),
                                      ("ヶ", "ケ"), ("キャ", "キヤ"), ("いっぺい", "イツペイ")])
def test_kana_variants_fold(a, b):
    assert kana_key(a) == kana_key(b)


def test_kana_display_is_full_width_katakana_with_one_space():
    assert kana_display("ｲﾁｶﾜ ﾀﾛｳ") == "イチカワ　タロウ"
    assert kana_display("いちかわ　たろう") == "イチカワ　タロウ"


@pytest.mark.parametrize("text", [
    "八幡二丁目3番4号", "千葉県市川市八幡2-3-4", "市川市八幡２－３－４", "八幡2丁目3番4号", "八幡2丁目3番地4",
    "八幡2ー3ー4", "八幡2‐3‐4", "千葉県 市川市 八幡２丁目３番４号", "八幡2−3−4",
])
def test_address_styles_parse_to_one_canonical_form(text):
    a = parse_address(text)
    assert a.in_city and (a.town, a.chome, a.ban, a.go) == ("八幡", 2, 3, 4)
    assert a.canonical == "八幡二丁目3番4号" and a.key == "八幡|2|3|4"


def test_address_with_katagaki_glued_or_spaced():
    glued = parse_address("南八幡４丁目５番６号レジデンス南八幡２０５号室")
    spaced = parse_address("南八幡4-5-6　レジデンス南八幡205号室")
    assert glued.town == spaced.town == "南八幡"  # longest town name wins over 八幡
    assert glued.key == spaced.key == "南八幡|4|5|6"
    assert glued.katagaki == spaced.katagaki == "レジデンス南八幡205号室"


def test_towns_without_chome_use_banchi():
    town = next(t.name for t in load_towns() if t.chome_max == 0)
    for text in (f"{town}123番地4", f"{town}123-4", f"千葉県市川市{town}１２３番地４"):
        a = parse_address(text)
        assert (a.town, a.chome, a.ban, a.go) == (town, None, 123, 4), text
        assert a.canonical == f"{town}123番地4"


def test_addresses_outside_the_city_are_not_forced_into_it():
    for text in ("東京都江戸川区中央1-2-3", "千葉県松戸市本町1-2", "船橋市本町1-2-3"):
        a = parse_address(text)
        assert not a.in_city and a.key is None and a.rest


def test_every_town_of_the_list_is_recognised():
    for t in load_towns():
        text = f"{t.name}1丁目2番3号" if t.chome_max else f"{t.name}12番地"
        assert parse_address(text).town == t.name, t.name


def test_phone_keys():
    assert phone_key("０９０－１２３４－５６７８") == phone_key("090-1234-5678") == phone_key("09012345678")
    assert phone_key("047(334)1111") == "0473341111"


@pytest.mark.parametrize(("name", "core", "form", "pos"), [
    ("(株)市川建設", "市川建設", "株式会社", "before"), ("株式会社　市川建設", "市川建設", "株式会社", "before"),
    ("市川建設㈱", "市川建設", "株式会社", "after"), ("市川建設（株）", "市川建設", "株式会社", "after"),
    ("ｲﾁｶﾜｹﾝｾﾂ(ｶ)", "イチカワケンセツ", "株式会社", "after"), ("有限会社八幡", "八幡", "有限会社", "before"),
    ("合同会社 妙典", "妙典", "合同会社", "before"), ("市川商店", "市川商店", None, None),
])
def test_company_forms_and_their_position(name, core, form, pos):
    c = company(name)
    assert (c.core, c.form, c.form_position) == (core, form, pos)
