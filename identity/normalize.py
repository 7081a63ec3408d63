"""Japanese normalization for matching and display.

Two forms of every value: the *display* form keeps what the registry holds
(異体字 and all, spacing made regular), the *key* form is what matching
compares (widths unified, spaces dropped, 異体字 folded through the MJ縮退マップ
of ``jntajis``, kana variants folded). Widths and kana go through ``jaconv``.
All functions take ``None`` and return ``None`` for it, so they can be used as
DuckDB scalar functions over nullable columns.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import asdict, dataclass

import jaconv
import jntajis

from core.towns import CITY, PREFECTURE, load_towns

GAIJI = "〓"  # a character the source system could not export
_MJ_ALL = (jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE
           | jntajis.MJShrinkSchemeCombo.INFERENCE_BY_READING_AND_GLYPH
           | jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582
           | jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE)
# kana that people and systems write either way (ヴ/ブ, ヂ/ジ, ヅ/ズ, ヶ/ケ) and small kana
_KANA_FOLD = str.maketrans({"ヴ": "ブ", "ヂ": "ジ", "ヅ": "ズ", "ヶ": "ケ", "ヵ": "カ", "ァ": "ア", "ィ": "イ", "ゥ": "ウ",
                            "ェ": "エ", "ォ": "オ", "ッ": "ツ", "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ワ", "ヰ": "イ",
                            "ヱ": "エ", "ヲ": "オ"})
_VU = (("ヴァ", "バ"), ("ヴィ", "ビ"), ("ヴェ", "ベ"), ("ヴォ", "ボ"), ("ヴュ", "ビュ"))
_SPACES = re.compile(r"[\s\u3000]+")
_DASHES = "‐‑‒–—―−ーｰ－-"
_DIGIT_DASH = re.compile(rf"(?<=\d)[{_DASHES}](?=\d)")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _width(text: str) -> str:
    """ASCII and digits to half width, kana to full width (NFKC would also fold 〓-free compatibility kanji)."""
    return jaconv.h2z(jaconv.z2h(text, kana=False, ascii=True, digit=True), kana=True, ascii=False, digit=False)


@functools.lru_cache(maxsize=65536)
def fold_itaiji(text: str) -> str:
    """Every character to its standard form by the MJ縮退マップ (髙→高, 﨑→崎, 邊/邉→辺, 齋→斎, 澤→沢...)."""
    out = []
    for ch in text:
        if ord(ch) < 0x3000 or ch == GAIJI:
            out.append(ch)
            continue
        candidates = jntajis.mj_shrink_candidates(ch, _MJ_ALL)
        out.append(candidates[0] if candidates else ch)
    return "".join(out)


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """(surname, given name) when the value has a separating space, else (whole, None)."""
    if name is None:
        return None, None
    parts = _SPACES.split(_width(name).strip(), maxsplit=1)
    if not parts or not parts[0]:
        return None, None
    return parts[0], (parts[1] if len(parts) > 1 and parts[1] else None)


def name_display(name: str | None) -> str | None:
    """The registered form with regular spacing: surname, U+3000, given name; widths unified."""
    sur, given = split_name(name)
    if sur is None:
        return None
    return sur if given is None else f"{sur}\u3000{given}"


def name_key(name: str | None) -> str | None:
    """Kanji name for matching: no spaces, 異体字 folded. 〓 stays and is a wildcard in comparisons."""
    if name is None:
        return None
    text = _SPACES.sub("", _width(name))
    return fold_itaiji(text) or None


def kana_key(kana: str | None) -> str | None:
    """Kana for matching: full-width katakana, no spaces, kana variants and small kana folded."""
    if kana is None:
        return None
    text = jaconv.hira2kata(_width(kana))
    text = _SPACES.sub("", text)
    if "ヴ" in text:
        for a, b in _VU:
            text = text.replace(a, b)
    return text.translate(_KANA_FOLD) or None


def kana_display(kana: str | None) -> str | None:
    """Full-width katakana with surname and given name separated by U+3000."""
    if kana is None:
        return None
    sur, given = split_name(jaconv.hira2kata(_width(kana)))
    if sur is None:
        return None
    return sur if given is None else f"{sur}\u3000{given}"


def phone_key(phone: str | None) -> str | None:
    """Digits only (hyphens of any width and brackets dropped)."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    return digits or None


# -- company names ---------------------------------------------------------------------------
_FORMS = {  # written form -> legal form
    "株式会社": "株式会社", "(株)": "株式会社", "㈱": "株式会社", "(カ)": "株式会社", "カ)": "株式会社", "(カ": "株式会社",
    "有限会社": "有限会社", "(有)": "有限会社", "㈲": "有限会社", "(ユ)": "有限会社", "ユ)": "有限会社", "(ユ": "有限会社",
    "合同会社": "合同会社", "(同)": "合同会社", "合資会社": "合資会社", "(資)": "合資会社", "㈾": "合資会社",
    "合名会社": "合名会社", "(名)": "合名会社", "㈴": "合名会社",
    "一般社団法人": "一般社団法人", "(一社)": "一般社団法人", "(社)": "一般社団法人", "(シャ)": "一般社団法人",
    "一般財団法人": "一般財団法人", "(一財)": "一般財団法人",
    "特定非営利活動法人": "特定非営利活動法人", "NPO法人": "特定非営利活動法人", "(特非)": "特定非営利活動法人",
    "社会福祉法人": "社会福祉法人", "(福)": "社会福祉法人", "医療法人": "医療法人", "(医)": "医療法人",
}
_FORM_ORDER = sorted(_FORMS, key=len, reverse=True)


@dataclass(frozen=True)
class Company:
    core: str | None  # the name without its legal form, for matching
    form: str | None  # 株式会社, 有限会社, ... or None (sole proprietor, other)
    form_position: str | None  # "before" (前株) or "after" (後株)


def company(name: str | None) -> Company:
    """(株)市川建設, 株式会社　市川建設, 市川建設㈱, ｲﾁｶﾜｹﾝｾﾂ(ｶ) -> core name, legal form, its position."""
    if name is None:
        return Company(None, None, None)
    text = _SPACES.sub("", _width(name).replace("（", "(").replace("）", ")"))
    for f in _FORM_ORDER:
        if text.startswith(f):
            return Company(fold_itaiji(text[len(f):]) or None, _FORMS[f], "before")
        if text.endswith(f):
            return Company(fold_itaiji(text[: -len(f)]) or None, _FORMS[f], "after")
    return Company(fold_itaiji(text) or None, None, None)


# -- addresses ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Address:
    in_city: bool
    town: str | None = None  # 町名 from the city's list
    chome: int | None = None
    ban: int | None = None  # 番 or 番地
    go: int | None = None  # 号 (or the branch number after 番地)
    katagaki: str | None = None  # building and room (方書)
    rest: str | None = None  # what is left when the address is outside the city or not understood

    @property
    def key(self) -> str | None:
        """Matching key: town|chome|ban|go (方書 is not part of where someone lives for matching)."""
        if not self.in_city or self.town is None:
            return None
        return "|".join("" if v is None else str(v) for v in (self.town, self.chome, self.ban, self.go))

    @property
    def canonical(self) -> str | None:
        """The registry's form after 千葉県市川市: 八幡一丁目1番1号, 大町123番地4."""
        if not self.in_city or self.town is None:
            return None
        if self.chome:
            out = f"{self.town}{_kanji_number(self.chome)}丁目"
            if self.ban is not None:
                out += f"{self.ban}番"
                if self.go is not None:
                    out += f"{self.go}号"
            return out
        out = self.town
        if self.ban is not None:
            out += f"{self.ban}番地" + (str(self.go) if self.go is not None else "")
        return out

    @property
    def outside_key(self) -> str | None:
        """Matching key of an address outside the city: 外|市区町村 and the rest, 丁目・番・号 as a hyphen chain,
        without prefecture, spaces or what follows the numbers (千葉県船橋市本町四丁目7番9号 2F and
        船橋市本町４－７－９ both give 外|船橋市本町4-7-9)."""
        if self.in_city or not self.rest:
            return None
        s = _SPACES.sub("", self.rest)
        s = _PREFECTURES.sub("", s)
        s = re.sub(r"([〇一二三四五六七八九十]+)丁目", lambda m: f"{_kanji_to_int(m.group(1))}丁目", s)
        s = re.sub(r"([0-9]+)(?:丁目|番地の|番地|番|号|の)", r"\1-", s)
        m = re.match(r"^(.*?[0-9]+(?:-[0-9]+)*)", s)
        return f"外|{m.group(1)}" if m else None

    def as_dict(self) -> dict:
        return {**asdict(self), "key": self.key, "canonical": self.canonical, "outside_key": self.outside_key}


_PREFECTURES = re.compile(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)")


def _kanji_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + ("" if ones == 0 else digits[ones])


def _kanji_to_int(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if not text or any(c not in _KANJI_DIGITS and c != "十" for c in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    return int("".join(str(_KANJI_DIGITS[c]) for c in text))


@functools.cache
def _town_pattern() -> re.Pattern:
    names = sorted((t.name for t in load_towns()), key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, names)) + ")")


@functools.cache
def _has_chome() -> dict[str, bool]:
    return {t.name: t.chome_max > 0 for t in load_towns()}


_CHOME = re.compile(r"^([0-9]+|[〇一二三四五六七八九十]+)(?:丁目|-)")
_BAN = re.compile(r"^([0-9]+)(?:番地の|番地|番|-|の)?")
_GO = re.compile(r"^([0-9]+)(?:号)?")


def parse_address(text: str | None) -> Address | None:
    """An address in any style of the spec split into 町名, 丁目, 番, 号 and 方書, against the town list."""
    if text is None:
        return None
    s = _width(text).strip()
    s = _DIGIT_DASH.sub("-", s)
    s = s.replace("ノ", "の") if re.search(r"\dノ\d", s) else s
    body = s
    outside = False
    if body.startswith(PREFECTURE):
        body = body[len(PREFECTURE):].lstrip()
    elif re.match(r"^(東京都|北海道|(?:京都|大阪)府|.{2,3}県)", body):
        outside = True
    if not outside and body.startswith(CITY):
        body = body[len(CITY):].lstrip()
    elif not outside and re.match(r"^.{1,4}[市区町村]", body) and not _town_pattern().match(body):
        outside = True
    m = None if outside else _town_pattern().match(body)
    if m is None:
        return Address(in_city=False, rest=s or None)
    town = m.group(1)
    rest = body[m.end():].lstrip()
    chome = ban = go = None
    if _has_chome()[town]:
        cm = _CHOME.match(rest)
        if cm:
            chome = _kanji_to_int(cm.group(1))
            rest = rest[cm.end():]
    bm = _BAN.match(rest)
    if bm:
        ban = int(bm.group(1))
        rest = rest[bm.end():]
        gm = _GO.match(rest)
        if gm and (bm.group(0)[len(bm.group(1)):] or not _has_chome()[town]):
            go = int(gm.group(1))
            rest = rest[gm.end():]
    katagaki = _SPACES.sub(" ", rest).strip(" -") or None
    return Address(in_city=True, town=town, chome=chome, ban=ban, go=go, katagaki=katagaki)
