"""kokuho: 国民健康保険 資格, JSON Lines (UTF-8); monthly full files and daily changes."""

from __future__ import annotations

import datetime as dt
import json

from simulator.entities import Event, Person
from simulator.noise import Noise
from simulator.systems.common import (
    FileStats,
    Output,
    iso_jst,
    person_kana,
    person_name,
)
from simulator.world import World

SYSTEM = "kokuho"
DRIFT_KEY = "kofu_kubun"  # a key the vendor adds mid-way, without notice


class KokuhoWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out
        self.drift_from: dt.date | None = None

    def _obj(self, p: Person, when: dt.datetime, day: dt.date) -> dict:
        nz = self.nz
        birth = p.birth if p.birth_prec == "day" else p.birth.replace(day=1)
        if p.birth_prec == "unknown_md":
            birth = birth.replace(month=1)
        rec = p.record
        obj = {
            "hihokensha_bango": p.kokuho_no,
            "kigo": "市国01",
            "atena_bango": rec.atena if rec is not None and nz.rng.random() > 0.03 else None,
            "shimei": person_name(nz, p, sep="　"),
            "shimei_kana": person_kana(nz, p, sep="　"),
            "seinengappi": birth.isoformat(),
            "seibetsu": "男" if p.sex == 1 else "女",
            "setai_bango": p.household.setai if p.household is not None and nz.rng.random() > 0.02 else None,
            "shikaku_shutoku_ymd": p.kokuho_from.isoformat(),
            "shikaku_soshitsu_ymd": p.kokuho_until.isoformat() if p.kokuho_until else None,
            "soshitsu_jiyu": p.kokuho_reason,
            "updated_at": iso_jst(when),
        }
        if self.drift_from is not None and day >= self.drift_from:
            obj[DRIFT_KEY] = "一般"
        return obj

    def _render(self, rel: str, items: list[tuple[Person, dt.datetime]], day: dt.date) -> None:
        nz, out = self.nz, self.out
        stats = FileStats(SYSTEM, special=None if items else "empty")
        lines = []
        for line_no, (p, when) in enumerate(items, start=1):
            obj = self._obj(p, when, day)
            stats.rows += 1
            key = obj["hihokensha_bango"]
            if nz.hit("missing_key"):
                del obj["hihokensha_bango"]
                out.fault(rel, stats, "quarantine", "missing_key", line_no, None)
                lines.append(json.dumps(obj, ensure_ascii=False))
                continue
            quarantined = True
            text = None
            if nz.hit("malformed_key"):
                key = obj["hihokensha_bango"] = nz.choice((key[:7], key + "0", "O" + key[1:]))
                out.fault(rel, stats, "quarantine", "malformed_key", line_no, f"{SYSTEM}|{key}")
            elif nz.hit("truncated_record"):
                full = json.dumps(obj, ensure_ascii=False)
                text = full[: nz.rng.randint(20, len(full) - 5)]
                out.fault(rel, stats, "quarantine", "truncated_line", line_no, f"{SYSTEM}|{key}")
            else:
                quarantined = False
                if nz.hit("invalid_date"):
                    obj["seinengappi"] = f"{p.birth.year}-02-30"
                    out.fault(rel, stats, "field_issue", "invalid_date", line_no, f"{SYSTEM}|{key}")
                elif nz.hit("unknown_code"):
                    obj["seibetsu"] = "不明"
                    out.fault(rel, stats, "field_issue", "unknown_code", line_no, f"{SYSTEM}|{key}")
            out.add_truth("person", SYSTEM, key, p.true_id, good=not quarantined)
            lines.append(text if text is not None else json.dumps(obj, ensure_ascii=False))
        out.write(rel, "".join(line + "\n" for line in lines).encode("utf-8"), stats)

    def full(self, day: dt.date) -> None:
        horizon = day - dt.timedelta(days=730)
        insured = [p for p in self.world.persons
                   if p.kokuho_no and (p.kokuho_until is None or p.kokuho_until >= horizon)]
        insured.sort(key=lambda p: p.kokuho_no)
        stamp = dt.datetime.combine(day, dt.time(2, 0))
        items = [(p, min(stamp, dt.datetime.combine(max(p.kokuho_from, p.kokuho_until or p.kokuho_from),
                                                    dt.time(10, 0)) + dt.timedelta(days=1)))
                 for p in insured]
        self._render(f"{SYSTEM}/{day:%Y%m%d}/kokuho_shikaku_full_{day:%Y%m%d}.jsonl", items, day)

    def daily(self, day: dt.date, events: list[Event]) -> str:
        items: list[tuple[Person, dt.datetime]] = []
        world = self.world
        for ev in events:
            if ev.kind in ("birth", "move_in") and ev.household is not None and ev.household.kokuho:
                items += [(p, ev.time + dt.timedelta(hours=2)) for p in ev.persons if p.kokuho_no]
            elif ev.kind in ("death", "move_out", "kokuho_75"):
                items += [(p, ev.time + dt.timedelta(hours=2)) for p in ev.persons if p.kokuho_no]
        # 社保加入 (leaving) and 退職 (joining) among residents
        for _ in range(int(world.np.poisson(max(4000 * world.config.scale / 365, world.config.min_daily_events)))):
            p = world.residents.pick(world.rng)
            when = world._when(day)
            if p is None:
                break
            if p.kokuho_no and p.kokuho_until is None:
                p.kokuho_until, p.kokuho_reason = day, "社保加入"
                items.append((p, when))
            elif not p.kokuho_no and 20 <= p.age(day) < 75:
                world.enrol_kokuho(p, day)
                items.append((p, when))
        items.sort(key=lambda t: t[1])
        rel = f"{SYSTEM}/{day:%Y%m%d}/kokuho_shikaku_{day:%Y%m%d}.jsonl"
        self._render(rel, items, day)
        return rel
