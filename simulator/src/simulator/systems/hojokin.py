"""hojokin: 補助金電子申請, one JSON document per application; a newer updated_at supersedes."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from core.ids import houjin_valid, my_number_valid
from simulator.entities import Address, Business, Person, stable_seed
from simulator.noise import Noise
from simulator.systems.common import (
    FileStats,
    Output,
    address_text,
    iso_jst,
    other_firm,
    person_kana,
    person_name,
    phone_text,
)
from simulator.systems.houjin import form_variants
from simulator.world import World

SYSTEM = "hojokin"
# code, name, applicant kind, attachments
PROGRAMMES = [
    ("HJ01", "住宅リフォーム補助金", "kojin", ["住民票の写し", "納税証明書", "見積書"]),
    ("HJ02", "太陽光発電設備設置費補助金", "kojin", ["住民票の写し", "見積書"]),
    ("HJ03", "高齢者住宅改修費助成", "kojin", ["住民票の写し", "課税証明書", "見積書"]),
    ("HJ05", "子育て世帯応援給付金", "kojin", ["住民票の写し", "課税証明書"]),
    ("HJ07", "危険ブロック塀等除却補助金", "kojin", ["住民票の写し", "見積書"]),
    ("HJ10", "中小企業設備投資補助金", "hojin", ["登記事項証明書", "納税証明書", "見積書"]),
    ("HJ13", "創業支援補助金", "hojin", ["登記事項証明書", "見積書"]),
    ("HJ15", "商店街活性化事業補助金", "hojin", ["登記事項証明書", "納税証明書"]),
]
DRIFT_KEY = "uketsuke_channel"


@dataclass
class Application:
    bango: str
    programme: tuple
    person: Person | None
    business: Business | None
    submitted: dt.datetime
    amount: int
    address: Address
    schedule: list[tuple[dt.datetime, str]] = field(default_factory=list)
    versions: list[tuple[dt.datetime, bytes]] = field(default_factory=list)
    borrowed: Business | None = None  # the firm whose 法人番号 the form carries instead of its own
    borrow_drawn: bool = False


class HojokinWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out
        self.rng = random.Random(stable_seed(world.config.seed, SYSTEM))
        self.apps: list[Application] = []
        self.seq = 0
        self.drift_from: dt.date | None = None

    def _new(self, submitted: dt.datetime) -> Application | None:
        rng, w = self.rng, self.world
        prog = rng.choice(PROGRAMMES)
        person = business = None
        if prog[2] == "kojin":
            person = w.residents.pick(rng)
            if person is None or person.age(submitted.date()) < 20:
                return None
            addr = person.address
            if person.prev_address is not None and self.nz.hit("old_address"):
                addr = person.prev_address
        else:
            business = w.businesses[rng.randrange(len(w.businesses))]
            if business.closed is not None:
                return None
            addr = business.address
        self.seq += 1
        app = Application(f"HJ-{submitted.year}-{self.seq:06d}", prog, person, business, submitted,
                          rng.randrange(10, 500) * 1000, addr)
        t = submitted
        app.schedule.append((t, "受付"))
        t += dt.timedelta(days=rng.randint(2, 10), hours=rng.randint(1, 6))
        app.schedule.append((t, "審査中"))
        t += dt.timedelta(days=rng.randint(10, 40))
        app.schedule.append((t, rng.choices(("交付決定", "不交付", "取下げ"), (85, 10, 5))[0]))
        self.apps.append(app)
        return app

    def _submitted(self, day: dt.date) -> dt.datetime:
        # the system runs 24 hours: about a third of applications arrive out of office hours
        hour = self.rng.randrange(24) if self.rng.random() < 0.35 else self.rng.randint(9, 16)
        return dt.datetime.combine(day, dt.time(hour, self.rng.randrange(60), self.rng.randrange(60)))

    def _doc(self, app: Application, status: str, updated: dt.datetime, day: dt.date) -> dict:
        nz = self.nz
        a = app.address
        jusho = {"yubin": a.postal[:3] + "-" + a.postal[3:] if nz.rng.random() < 0.8 else a.postal,
                 "todofuken": a.pref, "shikuchoson": a.city,
                 "banchi": address_text(nz, a, prefix="never", with_hoshogaki=False),
                 "tatemono": a.hoshogaki() if a.building else ""}
        if app.person is not None:
            p = app.person
            applicant = {"kubun": "kojin", "shimei_or_meisho": person_name(nz, p, sep="　", typo=True),
                         "kana": person_kana(nz, p, sep="　", hiragana=True, typo=True),
                         "seinengappi": p.birth.isoformat(), "jusho": jusho,
                         "denwa": phone_text(nz, self.world.mobile()), "mail": f"user{p.idx}@example.jp"}
        else:
            b = app.business
            applicant = {"kubun": "hojin", "shimei_or_meisho": nz.choice(form_variants(b)),
                         "kana": nz.kana_display(b.core[1], allow_hiragana=False, allow_halfwidth=True),
                         "houjin_bango": b.houjin_bango, "daihyosha": b.daihyosha, "jusho": jusho,
                         "denwa": phone_text(nz, b.phone), "mail": f"info{b.idx}@example.co.jp"}
            if b.houjin_bango is None or self.rng.random() < 0.15:
                applicant.pop("houjin_bango")
            if b.houjin_bango is not None and not app.borrow_drawn:
                app.borrow_drawn = True  # decided once: every version of the form carries the same number
                if nz.hit("borrowed_houjin_hojokin"):
                    app.borrowed = other_firm(self.world.businesses, b, self.rng)
            if app.borrowed is not None:
                applicant["houjin_bango"] = app.borrowed.houjin_bango
        doc = {"shinsei_bango": app.bango, "seido_code": app.programme[0], "seido_mei": app.programme[1],
               "shinsei_nichiji": iso_jst(app.submitted), "shinseisha": applicant}
        if app.person is not None and app.person.my_number and self.rng.random() < 0.3:
            doc["kojin_bango"] = app.person.my_number
        doc |= {"shinsei_kingaku": app.amount, "tenpu_shorui": [{"shurui": s} for s in app.programme[3]],
                "shinsa_status": status, "updated_at": iso_jst(updated)}
        if self.drift_from is not None and day >= self.drift_from:
            doc[DRIFT_KEY] = "web"
        return doc

    def _emit(self, day: dt.date, items: list[tuple[Application, str, dt.datetime]]) -> None:
        nz, out = self.nz, self.out
        for app, status, updated in sorted(items, key=lambda t: t[0].bango):
            doc = self._doc(app, status, updated, day)
            rel = f"{SYSTEM}/{day:%Y%m%d}/shinsei_{app.bango}.json"
            stats = FileStats(SYSTEM, rows=1)
            kind = "person" if app.person is not None else "business"
            true_id = (app.person or app.business).true_id
            key, good = app.bango, True
            if nz.hit("missing_key"):
                del doc["shinsei_bango"]
                out.fault(rel, stats, "quarantine", "missing_key", 1, None)
                key = None
            elif nz.hit("malformed_key"):
                key = doc["shinsei_bango"] = nz.choice((app.bango.replace("HJ-", "HJ"), app.bango[:-1],
                                                        app.bango.replace("-", "ー", 1)))
                out.fault(rel, stats, "quarantine", "malformed_key", 1, f"{SYSTEM}|{key}")
                good = False
            else:
                applicant = doc["shinseisha"]
                if "seinengappi" in applicant and nz.hit("invalid_date"):
                    applicant["seinengappi"] = f"{app.person.birth.year}-02-30"
                    out.fault(rel, stats, "field_issue", "invalid_date", 1, f"{SYSTEM}|{key}")
                elif doc.get("kojin_bango") and nz.hit("bad_my_number"):
                    doc["kojin_bango"] = nz.transpose_or_mistype(doc["kojin_bango"], my_number_valid)
                    out.fault(rel, stats, "field_issue", "bad_check_digit_my_number", 1, f"{SYSTEM}|{key}")
                elif applicant.get("houjin_bango") and nz.hit("bad_houjin_bango"):
                    applicant["houjin_bango"] = nz.transpose_or_mistype(applicant["houjin_bango"], houjin_valid)
                    out.fault(rel, stats, "field_issue", "bad_check_digit_houjin", 1, f"{SYSTEM}|{key}")
            if key is not None:
                out.add_truth(kind, SYSTEM, key, true_id, good=good)
                borrowed = app.borrowed
                if borrowed is not None and doc["shinseisha"].get("houjin_bango") == borrowed.houjin_bango:
                    out.borrowed_key(f"{SYSTEM}|{key}", "houjin_bango", borrowed.houjin_bango, borrowed.true_id,
                                     "related_firm")
            data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
            out.write(rel, data, stats)
            app.versions.append((updated, data))

    def initial(self, day: dt.date) -> None:
        fy_start = dt.date(day.year if day.month >= 4 else day.year - 1, 4, 1)
        per_day = max(0.012 * self.world.config.residents / 365, 0.3)
        d = fy_start
        while d < day:
            for _ in range(int(self.world.np.poisson(per_day))):
                self._new(self._submitted(d))
            d += dt.timedelta(days=1)
        now = dt.datetime.combine(day, dt.time(0))
        items = []
        for app in self.apps:
            done = [(t, s) for t, s in app.schedule if t < now]
            items.append((app, done[-1][1], done[-1][0]))
        self._emit(day, items)

    def daily(self, day: dt.date) -> None:
        start, end = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(0)), dt.datetime.combine(day, dt.time(0))
        for _ in range(int(self.world.np.poisson(max(0.012 * self.world.config.residents / 365, 0.3)))):
            self._new(self._submitted(day - dt.timedelta(days=1)))
        items = []
        for app in self.apps:
            for t, s in app.schedule:
                if start <= t < end:
                    items.append((app, s, t))
        latest: dict[str, tuple] = {}
        for app, s, t in items:
            if app.bango not in latest or latest[app.bango][2] < t:
                latest[app.bango] = (app, s, t)
        self._emit(day, list(latest.values()))
        # now and then an older version of another application is delivered again
        stale = [a for a in self.apps if len(a.versions) >= 2 and a.bango not in latest]
        for app in stale:
            if self.nz.hit("stale_resend_hojokin"):
                rel = f"{SYSTEM}/{day:%Y%m%d}/shinsei_{app.bango}.json"
                self.out.write(rel, app.versions[0][1], FileStats(SYSTEM, rows=1, special="stale_version"))
