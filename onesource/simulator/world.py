"""The one true world the departmental systems observe.

Persons, households and businesses are generated once from the seed; each
simulated day then applies the life events of a city (births, deaths, moves
in, out and within, marriages with surname change, household splits,
business registrations, changes, closures and mergers). The systems in
``systems/`` render this world, and each event, in their own formats.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

import numpy as np

from onesource.core.ids import make_atena, make_houjin_bango, make_my_number
from onesource.simulator.config import SimConfig
from onesource.core.towns import load_towns
from onesource.simulator.names import (
    BIZ_PLACE,
    BIZ_TRADE,
    BUILDINGS,
    CORP_FORMS,
    SOLE_SUFFIX,
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
    members: list["Person"] = field(default_factory=list)
    kokuho: bool = False

    def head(self) -> "Person | None":
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
    successor: "Business | None" = None
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


# Annual counts for Ichikawa (approximate), scaled to the simulated city.
ANNUAL = {
    "birth": 3600, "death": 4500, "move_in": 21000, "move_out": 20000, "move_within": 10000,
    "marriage": 2500, "split": 600, "corp_new": 800, "corp_rename": 300, "corp_move": 700,
    "corp_close": 500, "corp_merge": 40,
}


class World:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(stable_seed(config.seed, "world"))
        self.np = np.random.default_rng(stable_seed(config.seed, "world-np"))
        self.towns = load_towns()
        self.persons: list[Person] = []
        self.households: list[Household] = []
        self.businesses: list[Business] = []
        self.active_households = IndexedSet()
        self.residents = IndexedSet()
        self.removed_movers: list[Person] = []  # left the city; may come back
        self._atena_used: set[int] = set()
        self._setai_used: set[int] = set()
        self._my_numbers: set[str] = set()
        self._houjin_used: set[str] = set()
        self._kokuho_used: set[str] = set()
        self.today = config.start
        self.ido_log: list[tuple[dt.datetime, Person, JukiRecord]] = []
        # the insured at the start, by birthday: built on the first simulated day
        self._insured_by_birthday: dict[tuple[int, int], list[Person]] | None = None
        self._town_weights = [(t.chome_max + 1) * (0.5 + self.rng.random()) for t in self.towns]
        self._sur_weights = [1.0 / (i + 4) for i in range(len(SURNAMES))]

    # --- numbers -------------------------------------------------------------------------------
    def new_atena(self, jutogai: bool = False) -> str:
        lo, hi = (9_000_000, 9_999_999) if jutogai else (1, 8_999_999)
        while True:
            s = self.rng.randint(lo, hi)
            if s not in self._atena_used:
                self._atena_used.add(s)
                return make_atena(s)

    def new_setai(self) -> str:
        while True:
            s = self.rng.randint(2_000_000, 2_999_999)
            if s not in self._setai_used:
                self._setai_used.add(s)
                return make_atena(s)

    def new_my_number(self) -> str:
        while True:
            n = make_my_number(self.rng.randrange(1, 10**11))
            if n not in self._my_numbers:
                self._my_numbers.add(n)
                return n

    def new_houjin_bango(self) -> str:
        while True:
            base = self.rng.choice(("040301", "040302", "040001", "040003")) + f"{self.rng.randrange(10**6):06d}"
            n = make_houjin_bango(base)
            if n not in self._houjin_used:
                self._houjin_used.add(n)
                return n

    def new_kokuho_no(self) -> str:
        while True:
            n = f"{self.rng.randrange(10**8):08d}"
            if n not in self._kokuho_used:
                self._kokuho_used.add(n)
                return n

    # --- addresses -------------------------------------------------------------------------------
    def random_address(self, building_share: float = 0.35) -> Address:
        town = self.rng.choices(self.towns, weights=self._town_weights)[0]
        if town.chome_max:
            chome = self.rng.randint(1, town.chome_max)
            ban, go = self.rng.randint(1, 35), self.rng.randint(1, 30)
        else:
            chome, ban = 0, self.rng.randint(1, 2500)
            go = self.rng.randint(1, 20) if self.rng.random() < 0.4 else 0
        building = room = None
        if self.rng.random() < building_share:
            building = self.rng.choice(BUILDINGS)[0] + town.name
            room = self.rng.randint(1, 12) * 100 + self.rng.randint(1, 12)
        return Address(town.name, chome, ban, go, town.postal, building, room)

    def outside_address(self) -> Address:
        pref, city, _code, postal3, streets = self.rng.choice(NEIGHBOURS)
        street = self.rng.choice(streets)
        return Address(street, self.rng.randint(1, 5), self.rng.randint(1, 30), self.rng.randint(1, 25),
                       postal3 + f"{self.rng.randrange(10000):04d}", None, None, pref, city)

    # --- persons ---------------------------------------------------------------------------------
    def _birth_for_age(self, age: int) -> dt.date:
        return self.today - dt.timedelta(days=int(age * 365.25) + self.rng.randrange(365))

    def new_person(self, sex: int, age: int, sur: int | None = None) -> Person:
        idx = len(self.persons)
        p = Person(idx, f"P{idx + 1:07d}", sex,
                   sur if sur is not None else self.rng.choices(range(len(SURNAMES)), self._sur_weights)[0],
                   self.rng.randrange(len(given_pool(sex))), self._birth_for_age(max(age, 0)))
        r = self.rng.random()
        if r < self.config.noise.unknown_birth_month:
            p.birth_prec = "unknown_md"
        elif r < self.config.noise.unknown_birth_month + self.config.noise.unknown_birth_day:
            p.birth_prec = "unknown_d"
        p.itaiji_registered = self.rng.random() < 0.3
        if self.rng.random() < self.config.noise.gaiji_geta:
            p.gaiji_pos = self.rng.randrange(2)
        if self.rng.random() < self.config.my_number_share:
            p.my_number = self.new_my_number()
        p.income = self._income(age)
        self.persons.append(p)
        return p

    def _income(self, age: int) -> int:
        if age < 18:
            return 0
        if self.rng.random() < 0.25:
            return self.rng.randrange(0, 450_000, 1000)
        return int(self.np.lognormal(15.0, 0.6)) // 1000 * 1000

    def register(self, p: Person, hh: Household, zokugara: str, became: dt.date, reason: str,
                 when: dt.datetime, todoke: dt.date | None = None) -> JukiRecord:
        rec = JukiRecord(self.new_atena(), hh.setai, zokugara, hh.address, became, became, 1, reason,
                         became, todoke or became, when)
        p.records.append(rec)
        p.household, p.zokugara, p.resident = hh, zokugara, True
        hh.members.append(p)
        self.residents.add(p)
        self._log(p, when)
        return rec

    def _log(self, p: Person, when: dt.datetime) -> None:
        """Snapshot the record after a 異動 (the juki 異動 file shows the state after each one)."""
        from dataclasses import replace

        self.ido_log.append((when, p, replace(p.record, sur_at=p.sur)))

    def new_household(self, address: Address | None = None) -> Household:
        hh = Household(len(self.households), self.new_setai(), address or self.random_address())
        self.households.append(hh)
        self.active_households.add(hh)
        return hh

    # --- the initial city ---------------------------------------------------------------------------
    def build(self) -> None:
        target = self.config.residents
        n = 0
        while n < target:
            n += self._initial_household(target - n)
        self._initial_removed_records()
        self._initial_registered_twice()
        self._initial_kokuho()
        self._initial_jutogai()
        self._initial_businesses()
        self.ido_log.clear()

    def _past(self, years_back_max: float) -> dt.date:
        return self.today - dt.timedelta(days=self.rng.randrange(1, max(2, int(365 * years_back_max))))

    def _stamp(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(9, 0)) + dt.timedelta(
            days=self.rng.choice((0, 0, 1, 2, 3)), minutes=self.rng.randrange(8 * 60), seconds=self.rng.randrange(60))

    def _initial_household(self, room: int) -> int:
        rng = self.rng
        kind = rng.choices(["single", "couple", "family", "single_parent", "three_gen"], [38, 20, 26, 8, 8])[0]
        hh = self.new_household()
        members: list[tuple[Person, str]] = []
        if kind == "single":
            age = rng.choice((rng.randint(20, 39), rng.randint(20, 39), rng.randint(40, 64), rng.randint(65, 96)))
            members.append((self.new_person(rng.randint(1, 2), age), "世帯主"))
        else:
            if kind == "three_gen":
                head_age = rng.randint(35, 60)
            elif kind == "couple":
                head_age = rng.randint(25, 88)
            else:
                head_age = rng.randint(26, 56)
            if kind == "single_parent":
                parent = self.new_person(2 if rng.random() < 0.85 else 1, head_age)
                members.append((parent, "世帯主"))
                sur = parent.sur
            else:
                head_sex = 1 if rng.random() < 0.9 else 2
                head = self.new_person(head_sex, head_age)
                spouse = self.new_person(3 - head_sex, max(18, head_age + rng.randint(-6, 4)), sur=head.sur)
                self._married_past(spouse, head_age)
                members += [(head, "世帯主"), (spouse, ("妻" if head_sex == 1 else "夫") + ("(未届)" if rng.random() < 0.02 else ""))]
                sur = head.sur
            if kind in ("family", "single_parent", "three_gen"):
                for _ in range(rng.choices((1, 2, 3), (45, 42, 13))[0]):
                    child_age = rng.randint(0, max(0, min(24, head_age - 24)))
                    members.append((self.new_person(rng.randint(1, 2), child_age, sur=sur), "子"))
            if kind == "three_gen":
                for sex, z in rng.sample([(1, "父"), (2, "母")], rng.randint(1, 2)):
                    members.append((self.new_person(sex, head_age + rng.randint(24, 34), sur=sur), z))
        for p, z in members:
            became = max(p.birth, self._past(25))
            self.register(p, hh, z, became, "03" if became == p.birth else "01", self._stamp(became))
        hh.kokuho = rng.random() < self.config.kokuho_household_share * (1.6 if members[0][0].age(self.today) >= 65 else 1)
        return len(members)

    def _married_past(self, spouse: Person, head_age: int) -> None:
        spouse.prior_sur = self.rng.choices(range(len(SURNAMES)), self._sur_weights)[0]
        years = self.rng.uniform(0.1, max(0.5, min(30, head_age - 22)))
        spouse.married_on = self.today - dt.timedelta(days=int(365 * years))
        if self.rng.random() < 0.1 or years < 2:
            spouse.old_sur = spouse.prior_sur

    def _initial_removed_records(self) -> None:
        """除票: persons who moved out, died or were struck off before the first extract."""
        n = int(self.config.residents * self.config.removed_record_share)
        for _ in range(n):
            status = self.rng.choices((2, 3, 4), (65, 33, 2))[0]
            removed_on = self._past(30)
            if status == 3:
                age_then = self.rng.randint(55, 105)
            else:
                age_then = self.rng.randint(0, 80)
            p = self.new_person(self.rng.randint(1, 2), 0)
            p.birth = removed_on - dt.timedelta(days=int(age_then * 365.25) + self.rng.randrange(365))
            if p.birth < dt.date(1875, 1, 1):
                p.birth = dt.date(1875, 1, 1) + dt.timedelta(days=self.rng.randrange(3000))
            became = max(p.birth, removed_on - dt.timedelta(days=self.rng.randrange(30, 365 * 40)))
            hh_setai = self.new_setai()
            rec = JukiRecord(self.new_atena(), hh_setai, "世帯主", self.random_address(), became, became, status,
                             {2: "11", 3: "12", 4: "13"}[status], removed_on,
                             removed_on + dt.timedelta(days=self.rng.randint(0, 10)), self._stamp(removed_on))
            p.records.append(rec)
            p.resident, p.alive = False, status != 3
            if status == 2:
                self.removed_movers.append(p)

    def _initial_registered_twice(self) -> None:
        """Residents who left once and came back: an older 除票 under another 宛名番号."""
        n = int(self.config.residents * self.config.registered_twice)
        for p in self.rng.sample(self.residents.items, min(n, len(self.residents))):
            rec = p.record
            left = rec.became - dt.timedelta(days=self.rng.randint(200, 3000))
            if left <= p.birth + dt.timedelta(days=400):
                continue
            became = max(p.birth, left - dt.timedelta(days=self.rng.randint(300, 5000)))
            old = JukiRecord(self.new_atena(), self.new_setai(), "世帯主", self.random_address(), became, became, 2,
                             "11", left, left, self._stamp(left))
            p.records.insert(0, old)
            rec.reason = "01"

    def _initial_jutogai(self) -> None:
        """住登外者: taxed by the city (property, business) but registered elsewhere."""
        n = int(len(self.residents) * 0.8 * self.config.jutogai_share)
        for _ in range(n):
            p = self.new_person(self.rng.randint(1, 2), self.rng.randint(25, 85))
            p.resident, p.jutogai = False, True
            p.tax_atena = self.new_atena(jutogai=True)
            p.outside_address = self.outside_address()

    def _initial_kokuho(self) -> None:
        for hh in self.households:
            if not hh.kokuho:
                continue
            for p in hh.members:
                if p.age(self.today) < 75:
                    self.enrol_kokuho(p, max(p.record.became, self.today - dt.timedelta(days=self.rng.randrange(1, 4000))))

    def enrol_kokuho(self, p: Person, since: dt.date) -> None:
        p.kokuho_no = self.new_kokuho_no()
        p.kokuho_from, p.kokuho_until, p.kokuho_reason = since, None, None

    # --- businesses ------------------------------------------------------------------------------------
    def _initial_businesses(self) -> None:
        n = max(20, int(self.config.residents * self.config.businesses_per_resident))
        for _ in range(n):
            self.new_business(self._past(40), in_city=self.rng.random() >= self.config.neighbour_business_share)
        for _ in range(max(3, n // 12)):
            self.new_sole_proprietor()

    def new_business(self, established: dt.date, in_city: bool = True) -> Business:
        rng = self.rng
        place, trade = rng.choice(BIZ_PLACE), rng.choice(BIZ_TRADE)
        kind = rng.choices(("301", "302", "305", "399"), (70, 15, 10, 5))[0]
        addr = self.random_address(0.3) if in_city else self.outside_address()
        b = Business(len(self.businesses), f"B{len(self.businesses) + 1:06d}", kind,
                     (place[0] + trade[0], place[1] + trade[1]), rng.random() < 0.7, trade[2], addr, established)
        b.houjin_bango = self.new_houjin_bango()
        sur, given = rng.choice(SURNAMES), rng.choice(given_pool(rng.randint(1, 2)))
        b.daihyosha = f"{sur[0]}　{given[0]}"
        b.phone = self._phone(addr)
        b.history.append(("01", established))
        self.businesses.append(b)
        return b

    def new_sole_proprietor(self) -> Business:
        owner = self.residents.pick(self.rng)
        sfx = self.rng.choice(SOLE_SUFFIX)
        b = Business(len(self.businesses), f"B{len(self.businesses) + 1:06d}", None,
                     (owner.surname[0] + sfx[0], owner.surname[1] + sfx[1]), False, sfx[2],
                     owner.address, self._past(30))
        b.daihyosha = f"{owner.surname[0]}　{owner.given_name[0]}"
        b.phone = self._phone(b.address)
        self.businesses.append(b)
        return b

    def _phone(self, addr: Address) -> str:
        if addr.pref == "東京都":
            return f"03-{self.rng.randint(3000, 6999)}-{self.rng.randrange(10000):04d}"
        return f"047-{self.rng.randint(300, 399)}-{self.rng.randrange(10000):04d}"

    def mobile(self) -> str:
        return f"0{self.rng.choice((70, 80, 90))}-{self.rng.randrange(10000):04d}-{self.rng.randrange(10000):04d}"

    # --- one simulated day ---------------------------------------------------------------------------------
    def _count(self, kind: str) -> int:
        lam = max(ANNUAL[kind] * self.config.scale / 365, self.config.min_daily_events)
        return int(self.np.poisson(lam))

    def _when(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(8, 45)) + dt.timedelta(minutes=self.rng.randrange(8 * 60 + 30),
                                                                      seconds=self.rng.randrange(60))

    def step(self, day: dt.date) -> list[Event]:
        """Apply one day of life events to the world and return them in time order."""
        self.today = day
        events: list[Event] = []
        for kind, fn in (("birth", self._birth), ("death", self._death), ("move_in", self._move_in),
                         ("move_out", self._move_out), ("move_within", self._move_within),
                         ("marriage", self._marriage), ("split", self._split)):
            for _ in range(self._count(kind)):
                ev = fn(day)
                if ev is not None:
                    events.extend(ev if isinstance(ev, list) else [ev])
        events.extend(self._aging_out_of_kokuho(day))
        for kind, fn in (("corp_new", self._corp_new), ("corp_rename", self._corp_rename),
                         ("corp_move", self._corp_move), ("corp_close", self._corp_close),
                         ("corp_merge", self._corp_merge)):
            for _ in range(self._count(kind)):
                ev = fn(day)
                if ev is not None:
                    events.append(ev)
        events.sort(key=lambda e: e.time or dt.datetime.combine(e.date, dt.time(0)))
        return events

    def _record_change(self, p: Person, reason: str, when: dt.datetime, ido: dt.date,
                       status: int | None = None, juteibi: dt.date | None = None) -> None:
        rec = p.record
        rec.reason, rec.ido_date, rec.todoke_date, rec.updated = reason, ido, when.date(), when
        if p.household is not None:
            rec.setai, rec.zokugara, rec.address = p.household.setai, p.zokugara, p.household.address
        if status is not None:
            rec.status = status
        if juteibi is not None:
            rec.juteibi = juteibi
        self._log(p, when)

    def _birth(self, day: dt.date) -> Event | None:
        mothers = [h for h in (self.active_households.pick(self.rng) for _ in range(30)) if h is not None and any(
            m.sex == 2 and 20 <= m.age(day) <= 44 and m.zokugara in ("世帯主", "妻", "妻(未届)") for m in h.members)]
        if not mothers:
            return None
        hh = mothers[0]
        head = hh.head()
        child = self.new_person(self.rng.randint(1, 2), 0, sur=head.sur if head else None)
        born = day - dt.timedelta(days=self.rng.randint(1, 13))
        child.birth, child.birth_prec = born, "day"
        when = self._when(day)
        self.register(child, hh, "子", born, "03", when, todoke=day)
        if hh.kokuho:
            self.enrol_kokuho(child, born)
        return Event("birth", day, [child], hh, "03", when)

    def _remove(self, p: Person, status: int, reason: str, when: dt.datetime, ido: dt.date) -> None:
        hh = p.household
        self._record_change(p, reason, when, ido, status=status)
        p.resident = False
        self.residents.discard(p)
        if hh is not None:
            hh.members.remove(p)
            if not hh.members:
                self.active_households.discard(hh)
        p.household = None
        if p.kokuho_no and p.kokuho_until is None:
            p.kokuho_until, p.kokuho_reason = ido, {3: "死亡", 2: "転出"}.get(status, "転出")

    def _death(self, day: dt.date) -> list[Event] | None:
        cands = [p for p in (self.residents.pick(self.rng) for _ in range(40)) if p is not None]
        if not cands:
            return None
        p = max(cands, key=lambda x: (x.age(day), x.idx))
        hh = p.household
        when = self._when(day)
        died = day - dt.timedelta(days=self.rng.randint(1, 6))
        p.alive = False
        self._remove(p, 3, "12", when, died)
        events = [Event("death", day, [p], hh, "12", when)]
        if hh is not None and hh.members and p.zokugara == "世帯主":
            new_head = max(hh.members, key=lambda m: (m.age(day), m.idx))
            new_head.zokugara = "世帯主"
            later = when + dt.timedelta(minutes=5)
            self._record_change(new_head, "24", later, day)
            events.append(Event("head_change", day, [new_head], hh, "24", later))
        return events

    def _move_in(self, day: dt.date) -> Event | None:
        when = self._when(day)
        arrived = day - dt.timedelta(days=self.rng.randint(0, 13))
        reason = "02" if self.rng.random() < 0.05 else "01"
        if self.removed_movers and self.rng.random() < 0.04:
            p = self.removed_movers.pop(self.rng.randrange(len(self.removed_movers)))
            hh = self.new_household()
            self.register(p, hh, "世帯主", arrived, reason, when, todoke=day)  # a second 宛名番号
            return Event("move_in", day, [p], hh, reason, when, extra={"returnee": True})
        hh = self.new_household()
        size = self.rng.choices((1, 2, 3, 4), (50, 22, 16, 12))[0]
        head_age = self.rng.randint(20, 45) if size > 1 else self.rng.randint(18, 70)
        head = self.new_person(1 if size > 1 or self.rng.random() < 0.55 else 2, head_age)
        people = [(head, "世帯主")]
        if size >= 2:
            spouse = self.new_person(2, max(18, head_age + self.rng.randint(-5, 3)), sur=head.sur)
            self._married_past(spouse, head_age)
            people.append((spouse, "妻"))
        for _ in range(size - 2):
            people.append((self.new_person(self.rng.randint(1, 2), self.rng.randint(0, max(0, head_age - 22)), sur=head.sur), "子"))
        for p, z in people:
            self.register(p, hh, z, arrived, reason, when, todoke=day)
        hh.kokuho = self.rng.random() < self.config.kokuho_household_share
        if hh.kokuho:
            for p, _ in people:
                if p.age(day) < 75:
                    self.enrol_kokuho(p, arrived)
        return Event("move_in", day, [p for p, _ in people], hh, reason, when)

    def _move_out(self, day: dt.date) -> Event | None:
        hh = self.active_households.pick(self.rng)
        if hh is None:
            return None
        when = self._when(day)
        left = day + dt.timedelta(days=self.rng.randint(0, 14))
        movers = list(hh.members) if self.rng.random() < 0.7 else [self.rng.choice(hh.members)]
        for p in movers:
            self._remove(p, 2, "11", when, left)
            self.removed_movers.append(p)
        return Event("move_out", day, movers, hh, "11", when)

    def _move_within(self, day: dt.date) -> Event | None:
        hh = self.active_households.pick(self.rng)
        if hh is None:
            return None
        when = self._when(day)
        moved = day - dt.timedelta(days=self.rng.randint(0, 13))
        old = hh.address
        hh.address = self.random_address()
        for p in hh.members:
            p.prev_address, p.moved_on = old, moved
            self._record_change(p, "21", when, moved, juteibi=moved)
        return Event("move_within", day, list(hh.members), hh, "21", when, extra={"old_address": old})

    def _marriage(self, day: dt.date) -> list[Event] | None:
        def single(sex: int, lo: int, hi: int) -> Person | None:
            for _ in range(60):
                p = self.residents.pick(self.rng)
                if p and p.sex == sex and lo <= p.age(day) <= hi and p.zokugara in ("世帯主", "子") and p.married_on is None:
                    return p
            return None

        bride, groom = single(2, 22, 42), single(1, 24, 48)
        if bride is None or groom is None or bride.household is groom.household:
            return None
        takes_wife_name = self.rng.random() < 0.05
        changer, keeper = (groom, bride) if takes_wife_name else (bride, groom)
        when = self._when(day)
        changer.prior_sur = changer.old_sur = changer.sur
        changer.sur, changer.married_on = keeper.sur, day
        self._record_change(changer, "25", when, day)
        events = [Event("marriage", day, [changer, keeper], changer.household, "25", when)]
        # the couple sets up a new household at the keeper's address or elsewhere
        old_hh = changer.household
        target = keeper.household
        if keeper.zokugara != "世帯主":
            target = self.new_household()
            old_keeper_hh = keeper.household
            old_keeper_hh.members.remove(keeper)
            if not old_keeper_hh.members:
                self.active_households.discard(old_keeper_hh)
            target.members.append(keeper)
            keeper.household, keeper.zokugara = target, "世帯主"
            later = when + dt.timedelta(minutes=3)
            keeper.prev_address, keeper.moved_on = old_keeper_hh.address, day
            self._record_change(keeper, "21", later, day)
            events.append(Event("move_within", day, [keeper], target, "21", later, extra={"old_address": old_keeper_hh.address}))
        old_hh.members.remove(changer)
        if not old_hh.members:
            self.active_households.discard(old_hh)
        target.members.append(changer)
        changer.household, changer.zokugara = target, "妻" if changer.sex == 2 else "夫"
        changer.prev_address, changer.moved_on = old_hh.address, day
        later = when + dt.timedelta(minutes=6)
        self._record_change(changer, "21", later, day)
        events.append(Event("move_within", day, [changer], target, "21", later, extra={"old_address": old_hh.address}))
        return events

    def _split(self, day: dt.date) -> Event | None:
        for _ in range(30):
            hh = self.active_households.pick(self.rng)
            kids = [m for m in hh.members if m.zokugara == "子" and m.age(day) >= 20] if hh else []
            if kids:
                p = self.rng.choice(kids)
                new = self.new_household(hh.address)
                hh.members.remove(p)
                new.members.append(p)
                p.household, p.zokugara = new, "世帯主"
                when = self._when(day)
                self._record_change(p, "22", when, day)
                return Event("split", day, [p], new, "22", when)
        return None

    def _aging_out_of_kokuho(self, day: dt.date) -> list[Event]:
        out = []
        if not self.residents.items:
            return out
        # 75th birthdays today among the insured move to 後期高齢者医療
        for p in self._insured_turning_75(day):
            p.kokuho_until, p.kokuho_reason = day, "後期高齢者医療へ移行"
            out.append(Event("kokuho_75", day, [p], p.household, "", self._when(day)))
        return out

    def _insured_turning_75(self, day: dt.date) -> list[Person]:
        if self._insured_by_birthday is None:
            self._insured_by_birthday = {}
            for p in self.persons:
                if p.kokuho_no and p.kokuho_until is None and p.resident:
                    self._insured_by_birthday.setdefault((p.birth.month, p.birth.day), []).append(p)
        return [p for p in self._insured_by_birthday.get((day.month, day.day), [])
                if p.kokuho_until is None and p.resident and p.age(day) == 75]

    # --- business events ------------------------------------------------------------------------------------
    def _open_corp(self) -> Business | None:
        for _ in range(20):
            b = self.businesses[self.rng.randrange(len(self.businesses))]
            if b.kind is not None and b.closed is None:
                return b
        return None

    def _corp_new(self, day: dt.date) -> Event:
        b = self.new_business(day, in_city=self.rng.random() >= self.config.neighbour_business_share)
        return Event("corp", day, [], time=self._when(day), business=b, reason="01")

    def _corp_rename(self, day: dt.date) -> Event | None:
        b = self._open_corp()
        if b is None:
            return None
        old = b.name
        place, trade = self.rng.choice(BIZ_PLACE), b.core
        b.core = (place[0] + trade[0][len(trade[0]) // 2:], place[1] + trade[1][len(trade[1]) // 2:])
        b.history.append(("11", day))
        return Event("corp", day, [], time=self._when(day), business=b, reason="11", extra={"old_name": old})

    def _corp_move(self, day: dt.date) -> Event | None:
        b = self._open_corp()
        if b is None:
            return None
        b.address = self.random_address(0.3) if self.rng.random() < 0.85 else self.outside_address()
        b.history.append(("12", day))
        return Event("corp", day, [], time=self._when(day), business=b, reason="12")

    def _corp_close(self, day: dt.date) -> Event | None:
        b = self._open_corp()
        if b is None:
            return None
        b.closed, b.close_cause = day, self.rng.choice(("01", "31"))
        b.history.append(("21", day))
        return Event("corp", day, [], time=self._when(day), business=b, reason="21")

    def _corp_merge(self, day: dt.date) -> Event | None:
        a, b = self._open_corp(), self._open_corp()
        if a is None or b is None or a is b:
            return None
        a.closed, a.close_cause, a.successor = day, "11", b
        a.history.append(("71", day))
        return Event("corp", day, [], time=self._when(day), business=a, reason="71")
