"""Name pools: persons from Faker ja_JP's kanji/kana pairs, businesses from parts.

Faker's pairs are loaded once and sampled with the simulator's own random
streams (one Faker call per person would be slow and would tie determinism to
Faker's internal state).
"""

from __future__ import annotations

from faker.providers.person.ja_JP import Provider as _JaPerson

SURNAMES: list[tuple[str, str]] = [(k, kana) for k, kana, _ in _JaPerson.last_name_pairs]
GIVEN_MALE: list[tuple[str, str]] = [(k, kana) for k, kana, _ in _JaPerson.first_name_male_pairs]
GIVEN_FEMALE: list[tuple[str, str]] = [(k, kana) for k, kana, _ in _JaPerson.first_name_female_pairs]


def given_pool(sex: int) -> list[tuple[str, str]]:
    return GIVEN_MALE if sex == 1 else GIVEN_FEMALE


# 異体字: the common form and the variant forms the spec lists.
ITAIJI: dict[str, tuple[str, ...]] = {
    "高": ("髙",), "崎": ("﨑",), "辺": ("邊", "邉"), "斎": ("齋",), "斉": ("齊",),
    "沢": ("澤",), "広": ("廣",), "国": ("國",), "浜": ("濱",),
}
ITAIJI_REVERSE: dict[str, str] = {v: k for k, vs in ITAIJI.items() for v in vs}

# Business names: (kanji, kana) parts.
BIZ_PLACE = [
    ("市川", "イチカワ"), ("行徳", "ギョウトク"), ("葛南", "カツナン"), ("湾岸", "ワンガン"), ("京葉", "ケイヨウ"),
    ("房総", "ボウソウ"), ("東葛", "トウカツ"), ("八幡", "ヤワタ"), ("国府台", "コウノダイ"), ("江戸川", "エドガワ"),
    ("光陽", "コウヨウ"), ("朝日", "アサヒ"), ("大和", "ダイワ"), ("三洋", "サンヨウ"), ("東邦", "トウホウ"),
    ("妙典", "ミョウデン"), ("真間", "ママ"), ("曽谷", "ソヤ"), ("大野", "オオノ"), ("若宮", "ワカミヤ"),
    ("千葉", "チバ"), ("関東", "カントウ"), ("日進", "ニッシン"), ("富士", "フジ"), ("北斗", "ホクト"),
    ("協和", "キョウワ"), ("中央", "チュウオウ"), ("太平", "タイヘイ"), ("新和", "シンワ"), ("栄光", "エイコウ"),
    ("菅野", "スガノ"), ("塩浜", "シオハマ"), ("南八幡", "ミナミヤワタ"), ("鬼高", "オニタカ"), ("原木", "バラキ"),
]
BIZ_TRADE = [
    ("建設", "ケンセツ", "建築"), ("土木", "ドボク", "土木"), ("工業", "コウギョウ", "物品"), ("電設", "デンセツ", "電気"),
    ("システム", "システム", "役務"), ("清掃", "セイソウ", "役務"), ("警備保障", "ケイビホショウ", "役務"),
    ("設備", "セツビ", "管"), ("商事", "ショウジ", "物品"), ("印刷", "インサツ", "物品"), ("造園", "ゾウエン", "造園"),
    ("運輸", "ウンユ", "役務"), ("不動産", "フドウサン", "役務"), ("食品", "ショクヒン", "物品"),
    ("塗装", "トソウ", "塗装"), ("測量", "ソクリョウ", "測量"), ("コンサルタント", "コンサルタント", "コンサル"),
    ("電機", "デンキ", "電気"), ("ビルサービス", "ビルサービス", "役務"), ("舗道", "ホドウ", "舗装"),
]
# kind code -> (form, kana form, abbreviations, half-width kana abbreviation)
CORP_FORMS = {
    "301": ("株式会社", "カブシキガイシャ", ("(株)", "㈱", "（株）"), "ｶ"),
    "302": ("有限会社", "ユウゲンガイシャ", ("(有)", "㈲", "（有）"), "ﾕ"),
    "305": ("合同会社", "ゴウドウガイシャ", ("(同)", "（同）"), "ﾄﾞ"),
    "399": ("一般社団法人", "イッパンシャダンホウジン", ("(一社)", "（一社）"), "ｼｬ"),
}
SOLE_SUFFIX = [("工務店", "コウムテン", "建築"), ("塗装店", "トソウテン", "塗装"), ("設備", "セツビ", "管"),
               ("造園", "ゾウエン", "造園"), ("電気商会", "デンキショウカイ", "電気"), ("商店", "ショウテン", "物品")]

BUILDINGS = [("コーポ", ""), ("レジデンス", ""), ("ハイツ", ""), ("メゾン", ""), ("グランドパレス", ""),
             ("パークハウス", ""), ("サンライズ", ""), ("ヴィラ", ""), ("シティハイツ", ""), ("ライオンズマンション", "")]

NURSERIES = ["市川保育園", "八幡保育園", "本八幡駅前保育園", "行徳保育園", "南行徳保育園", "妙典保育園", "曽谷保育園",
             "大野保育園", "国府台保育園", "若宮保育園", "塩浜保育園", "新田保育園", "菅野保育園", "宮久保保育園"]
