"""The one true world the departmental systems observe.

Persons, households and businesses are generated once from the seed; each
simulated day then applies the life events of a city (births, deaths, moves
in, out and within, marriages with surname change, household splits,
business registrations, changes, closures and mergers). The systems in
``systems/`` render this world, and each event, in their own formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import random
from importlib import resources

import numpy as np

from core.ids import make_atena, make_houjin_bango, make_my_number
from core.towns import load_towns
from simulator.config import SimConfig
from simulator.entities import (
    NEIGHBOURS,
    Address,
    Business,
    Household,
    IndexedSet,
    JukiRecord,
    Person,
    stable_seed,
)
from simulator.events import DailyEvents
from simulator.names import (
    BIZ_PLACE,
    BIZ_TRADE,
    BUILDINGS,
    SOLE_SUFFIX,
    SURNAMES,
    given_pool,
)

# Annual counts for Ichikawa (approximate), scaled to the simulated city.
ANNUAL = {
    "birth": 3600, "death": 4500, "move_in": 21000, "move_out": 20000, "move_within": 10000,
    "marriage": 2500, "split": 600, "corp_new": 800, "corp_rename": 300, "corp_move": 700,
    "corp_close": 500, "corp_merge": 40,
}


@functools.cache
def age_structure() -> tuple[tuple[int, int, float, float], ...]:
    """(first age, last age, share of residents, share of men) per band, from the simulator's data folder
    (ichikawa_age_structure.csv, with its sources)."""
    text = resources.files("simulator").joinpath("data/ichikawa_age_structure.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    return tuple((int(r["band_start"]), int(r["band_end"]), float(r["share_pct"]) / 100, float(r["male_share"]))
                 for r in rows)


class AgeQuota:
    """Ages drawn so that the whole initial population matches the city's age structure: every draw takes a
    single year of age, within the range a household role allows, in proportion to what is left of that
    age's quota (the published share times the city's size); an exhausted range falls back to the shares."""

    def __init__(self, residents: int, rng: random.Random) -> None:
        self.rng = rng
        self.share = [0.0] * 105
        self.male = [0.5] * 105
        for lo, hi, share, male in age_structure():
            for age in range(lo, hi + 1):
                self.share[age], self.male[age] = share / (hi - lo + 1), male
        self.left = [s * residents for s in self.share]

    def draw(self, lo: int, hi: int) -> int:
        ages = range(max(0, lo), min(104, hi) + 1)
        weights = [max(self.left[a], 0.0) for a in ages]
        if sum(weights) <= 0:
            weights = [self.share[a] for a in ages]
        age = self.rng.choices(ages, weights)[0]
        self.left[age] -= 1
        return age

    def take(self, age: int) -> int:
        """Count an age chosen otherwise (a spouse near the head's age) against its quota."""
        self.left[min(max(age, 0), 104)] -= 1
        return age

    def sex(self, age: int) -> int:
        return 1 if self.rng.random() < self.male[min(max(age, 0), 104)] else 2


class World(DailyEvents):
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
        self._ages = AgeQuota(target, random.Random(stable_seed(self.config.seed, "ages")))
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
        ages = self._ages
        # household types in the proportions of a commuter city near Tokyo (about half single-person
        # households, about 1.9-2.0 persons per household); the ages come from the city's age structure
        kind = rng.choices(["single", "couple", "family", "single_parent", "three_gen"], [55, 16, 20, 5, 4])[0]
        hh = self.new_household()
        members: list[tuple[Person, str]] = []
        if kind == "single":
            age = ages.draw(18, 104)
            members.append((self.new_person(ages.sex(age), age), "世帯主"))
        else:
            # children first, then parents of a fitting age (20 to 45 years older than the eldest child)
            kids = sorted((ages.draw(0, 34) for _ in range(rng.choices((1, 2, 3), (45, 42, 13))[0])), reverse=True) \
                if kind in ("family", "single_parent", "three_gen") else []
            if kind == "couple":
                head_age = ages.draw(24, 100)
            else:
                head_age = ages.draw(max(24, kids[0] + 20), min(104, kids[0] + 45))
            if kind == "single_parent":
                parent = self.new_person(2 if rng.random() < 0.85 else 1, head_age)
                members.append((parent, "世帯主"))
                sur = parent.sur
            else:
                head_sex = 1 if rng.random() < 0.9 else 2
                head = self.new_person(head_sex, head_age)
                spouse_age = ages.take(max(18, head_age + rng.randint(-6, 4)))
                spouse = self.new_person(3 - head_sex, spouse_age, sur=head.sur)
                self._married_past(spouse, head_age)
                members += [(head, "世帯主"), (spouse, ("妻" if head_sex == 1 else "夫") + ("(未届)" if rng.random() < 0.02 else ""))]
                sur = head.sur
            for child_age in kids:
                members.append((self.new_person(rng.randint(1, 2), child_age, sur=sur), "子"))
            if kind == "three_gen":
                for sex, z in rng.sample([(1, "父"), (2, "母")], rng.randint(1, 2)):
                    members.append((self.new_person(sex, ages.draw(head_age + 22, 104), sur=sur), z))
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
