"""The things of the true world: addresses, households, persons and their 住民票 records, businesses, events."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

from simulator.names import (
    CORP_FORMS,
    SURNAMES,
    given_pool,
)

KANJI_DIGITS = "〇一二三四五六七八九"
ZOKUGARA_CODES = ("世帯主", "妻", "夫", "妻(未届)", "夫(未届)", "子", "子の妻", "子の夫", "孫", "父", "母",
                  "祖父", "祖母", "兄", "姉", "弟", "妹", "同居人", "縁故者")

# Cities around Ichikawa: (prefecture, city, NTA city code or None outside Chiba, postal prefix, streets)
NEIGHBOURS = [
    ("千葉県", "船橋市", "204", "273", ["本町", "湊町", "宮本", "前原西", "西船", "海神"]),
    ("千葉県", "松戸市", "207", "271", ["松戸", "新松戸", "八柱", "常盤平", "小金"]),
    ("千葉県", "浦安市", "227", "279", ["北栄", "当代島", "猫実", "入船", "美浜"]),
    ("千葉県", "習志野市", "216", "275", ["津田沼", "谷津", "実籾", "袖ケ浦"]),
    ("千葉県", "鎌ケ谷市", "224", "273", ["新鎌ケ谷", "道野辺", "初富"]),
    ("東京都", "江戸川区", None, "134", ["西葛西", "葛西", "小岩", "平井", "一之江", "瑞江"]),
    ("東京都", "江東区", None, "136", ["大島", "亀戸", "南砂", "東陽"]),
]


def stable_seed(seed: int, name: str) -> int:
    """A sub-seed per stream, so one system's draws never shift another's."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def kanji_number(n: int) -> str:
    if n < 10:
        return KANJI_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else KANJI_DIGITS[tens]) + "十" + (KANJI_DIGITS[ones] if ones else "")


@dataclass(slots=True, eq=False)
class Address:
    """An address in Ichikawa (town set) or outside it (outside_city set)."""

    town: str
    chome: int
    ban: int
    go: int
    postal: str
    building: str | None = None
    room: int | None = None
    pref: str = "千葉県"
    city: str = "市川市"

    @property
    def in_city(self) -> bool:
        return self.city == "市川市"

    def canonical(self) -> str:
        """The registry's form after 千葉県市川市: 八幡一丁目1番1号, or 大町123番地(4)."""
        if self.chome:
            return f"{self.town}{kanji_number(self.chome)}丁目{self.ban}番{self.go}号"
        return f"{self.town}{self.ban}番地" + (str(self.go) if self.go else "")

    def hoshogaki(self) -> str:
        if not self.building:
            return ""
        room = str(self.room).translate(_FW_DIGITS)
        return f"{self.building}{room}号室"


_FW_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(slots=True, eq=False)
class Household:
    hid: int
    setai: str
    address: Address
    members: list[Person] = field(default_factory=list)
    kokuho: bool = False

    def head(self) -> Person | None:
        for p in self.members:
            if p.zokugara == "世帯主":
                return p
        return self.members[0] if self.members else None


@dataclass(slots=True, eq=False)
class JukiRecord:
    """One 住民票 (one 宛名番号); a person who left and came back holds two."""

    atena: str
    setai: str
    zokugara: str
    address: Address
    became: dt.date
    juteibi: dt.date
    status: int  # 1 住民, 2 転出, 3 死亡, 4 職権消除
    reason: str
    ido_date: dt.date
    todoke_date: dt.date
    updated: dt.datetime
    sur_at: int | None = None  # surname at the time of a logged 異動 snapshot


@dataclass(slots=True, eq=False)
class Person:
    idx: int
    true_id: str
    sex: int
    sur: int
    given: int
    birth: dt.date
    birth_prec: str = "day"  # day | month | unknown
    old_sur: int | None = None  # 旧氏 as recorded in the registry
    prior_sur: int | None = None  # surname before the latest marriage (other systems may still use it)
    married_on: dt.date | None = None
    itaiji_registered: bool = False  # the registry holds the variant form of the surname
    gaiji_pos: int | None = None  # position of a 外字 in the registered full name
    my_number: str | None = None
    household: Household | None = None
    zokugara: str = "世帯主"
    records: list[JukiRecord] = field(default_factory=list)
    alive: bool = True
    resident: bool = True
    jutogai: bool = False
    prev_address: Address | None = None
    moved_on: dt.date | None = None
    income: int = 0
    kokuho_no: str | None = None
    kokuho_from: dt.date | None = None
    kokuho_until: dt.date | None = None
    kokuho_reason: str | None = None
    outside_address: Address | None = None  # 住登外者, applicants not (yet) in the city
    tax_atena: str | None = None  # 住登外者 宛名番号 (starts with 9)

    @property
    def surname(self) -> tuple[str, str]:
        return SURNAMES[self.sur]

    @property
    def given_name(self) -> tuple[str, str]:
        return given_pool(self.sex)[self.given]

    @property
    def record(self) -> JukiRecord | None:
        return self.records[-1] if self.records else None

    def age(self, on: dt.date) -> int:
        return on.year - self.birth.year - ((on.month, on.day) < (self.birth.month, self.birth.day))

    def child_allowance_until(self) -> dt.date:
        """Last day of 児童手当 for this child: 31 March of the school year in which the child turns 18 (a
        school year runs 2 April to 1 April by birth date)."""
        b = self.birth
        return dt.date(b.year + (18 if (b.month, b.day) <= (4, 1) else 19), 3, 31)

    @property
    def address(self) -> Address | None:
        if self.household is not None:
            return self.household.address
        if self.records:
            return self.records[-1].address
        return self.outside_address


@dataclass(slots=True, eq=False)
class Business:
    idx: int
    true_id: str
    kind: str | None  # NTA kind code; None for a sole proprietor
    core: tuple[str, str]  # name without legal form (kanji, kana)
    form_before: bool
    trade: str
    address: Address
    established: dt.date
    houjin_bango: str | None = None
    daihyosha: str = ""
    phone: str = ""
    closed: dt.date | None = None
    close_cause: str | None = None
    successor: Business | None = None
    history: list[tuple[str, dt.date]] = field(default_factory=list)  # (process, date)
    seq: int = 0

    @property
    def name(self) -> str:
        if self.kind is None:
            return self.core[0]
        form = CORP_FORMS[self.kind][0]
        return form + self.core[0] if self.form_before else self.core[0] + form


@dataclass
class Event:
    kind: str
    date: dt.date
    persons: list[Person]
    household: Household | None = None
    reason: str = ""
    time: dt.datetime | None = None
    business: Business | None = None
    extra: dict = field(default_factory=dict)


class IndexedSet:
    """A list with O(1) random pick and removal, in a deterministic order."""

    def __init__(self) -> None:
        self.items: list = []
        self.pos: dict[int, int] = {}

    def add(self, item) -> None:
        if id(item) in self.pos:
            return
        self.pos[id(item)] = len(self.items)
        self.items.append(item)

    def discard(self, item) -> None:
        i = self.pos.pop(id(item), None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.pos[id(last)] = i

    def pick(self, rng: random.Random):
        return self.items[rng.randrange(len(self.items))] if self.items else None

    def __len__(self) -> int:
        return len(self.items)
