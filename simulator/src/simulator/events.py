"""A simulated day: the life events of a city applied to the true world.

Births, deaths, moves in, out and within, marriages with surname change, household splits, business
registrations, changes, closures and mergers; each returns the events the systems render.
"""

from __future__ import annotations

import datetime as dt

from simulator.entities import Business, Event, Person
from simulator.names import (
    BIZ_PLACE,
)


class DailyEvents:
    """The daily life events, a part of :class:`World` (which holds the state they change)."""

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
