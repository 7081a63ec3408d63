"""madoguchi: 窓口受付, the front-desk and online procedure log (UTF-8 with BOM, LF)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from core.ids import atena_valid
from simulator.entities import Event, Person, stable_seed
from simulator.noise import Noise
from simulator.systems.common import FileStats, Output, family_member
from simulator.world import World

SYSTEM = "madoguchi"
COLUMNS = ["受付番号", "案件番号", "受付日時", "完了日時", "拠点", "チャネル", "手続コード", "手続名", "宛名番号", "来庁回数",
           "記入項目数", "既知項目数", "提出書類数", "担当課"]
# code: (name, section, fields on the form, fields the city holds, documents, channels allowed)
PROCEDURES = {
    "A01": ("転入届", "市民課", 18, 0, 2, ("窓口",)),
    "A02": ("転出届", "市民課", 12, 8, 1, ("窓口", "オンライン", "郵送")),
    "A03": ("転居届", "市民課", 14, 9, 1, ("窓口",)),
    "A04": ("出生届", "市民課", 16, 6, 2, ("窓口",)),
    "A05": ("死亡届", "市民課", 15, 8, 2, ("窓口",)),
    "A06": ("婚姻届", "市民課", 20, 10, 2, ("窓口",)),
    "A07": ("世帯変更届", "市民課", 10, 7, 1, ("窓口",)),
    "A11": ("住民票の写し交付", "市民課", 6, 4, 0, ("窓口", "オンライン", "郵送")),
    "A12": ("印鑑登録", "市民課", 7, 4, 1, ("窓口",)),
    "A13": ("印鑑登録証明書交付", "市民課", 5, 4, 0, ("窓口",)),
    "B01": ("国保加入", "国民健康保険課", 9, 5, 2, ("窓口", "オンライン")),
    "B02": ("国保脱退", "国民健康保険課", 8, 5, 2, ("窓口", "オンライン", "郵送")),
    "C01": ("児童手当認定請求", "子育て支援課", 14, 8, 2, ("窓口", "オンライン")),
    "C02": ("保育所入所申込", "保育課", 22, 9, 4, ("窓口", "オンライン")),
    "D01": ("課税証明書交付", "市民税課", 5, 4, 0, ("窓口", "オンライン", "郵送")),
    "D02": ("納税証明書交付", "納税課", 5, 4, 0, ("窓口", "オンライン", "郵送")),
}
OFFICES = ("本庁舎", "行徳支所", "大柏出張所", "南行徳市民センター")
GYOTOKU = {"行徳駅前", "南行徳", "妙典", "塩浜", "福栄", "相之川", "新井", "湊", "湊新田", "香取", "欠真間", "本行徳", "塩焼",
           "宝", "幸", "末広", "日之出", "入船", "富浜", "新浜", "広尾", "千鳥町", "高浜町", "島尻", "伊勢宿", "関ケ島",
           "押切", "河原", "下新宿", "本塩", "上妙典", "下妙典", "加藤新田"}
ONAKASHIWA = {"大野町", "南大野", "大町", "柏井町", "奉免町", "宮久保", "下貝塚", "曽谷", "稲越町", "高塚新田"}
CASE_PROCEDURES = {
    "move_in": ["A01", "B01?", "C01?", "A12?"], "move_out": ["A02", "B02?"], "move_within": ["A03"],
    "birth": ["A04", "C01", "B01?"], "death": ["A05", "B02?"], "marriage": ["A06"], "split": ["A07"],
}
BACKGROUND = (("A11", 40), ("D01", 20), ("A13", 15), ("D02", 5), ("A12", 5), ("C02", 3))


class MadoguchiWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out
        self.rng = random.Random(stable_seed(world.config.seed, SYSTEM))

    def _office(self, p: Person | None) -> str:
        town = p.address.town if p is not None and p.address is not None else ""
        if town in GYOTOKU and self.rng.random() < 0.7:
            return self.rng.choice(("行徳支所", "南行徳市民センター"))
        if town in ONAKASHIWA and self.rng.random() < 0.6:
            return "大柏出張所"
        return "本庁舎"

    def _procedures(self, ev: Event) -> list[str]:
        out = []
        hh = ev.household
        for code in CASE_PROCEDURES.get(ev.kind, []):
            if not code.endswith("?"):
                out.append(code)
                continue
            code = code[:-1]
            if code in ("B01", "B02") and hh is not None and hh.kokuho:
                out.append(code)
            elif code == "C01" and any(m.birth <= ev.date <= m.child_allowance_until() for m in ev.persons) \
                    and self.rng.random() < self.world.config.child_allowance_claim_rate:
                out.append(code)
            elif code == "A12" and self.rng.random() < 0.4:
                out.append(code)
        return out

    def day_rows(self, day: dt.date, events: list[Event]) -> list[tuple[Person | None, list[str]]]:
        rng, w = self.rng, self.world
        cases: list[tuple[Person | None, list[str], dt.datetime]] = []
        for ev in events:
            if ev.kind in CASE_PROCEDURES and ev.persons:
                cases.append((ev.persons[0], self._procedures(ev), ev.time))
        n_bg = int(w.np.poisson(max(400 * w.config.scale, 1.0)))
        codes, weights = zip(*BACKGROUND)
        for _ in range(n_bg):
            cases.append((w.residents.pick(rng), [rng.choices(codes, weights)[0]], None))
        rows = []
        case_no = 0
        for p, procs, when in cases:
            if not procs:
                continue
            case_no += 1
            case_id = f"K{day:%Y%m%d}{case_no:04d}"
            online_ok = all("オンライン" in PROCEDURES[c][5] for c in procs)
            channel = "オンライン" if online_ok and rng.random() < 0.35 else (
                "郵送" if all("郵送" in PROCEDURES[c][5] for c in procs) and rng.random() < 0.15 else "窓口")
            if channel == "オンライン":
                t = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(seconds=rng.randrange(86400))
                office = "オンライン"
            else:
                t = when or (dt.datetime.combine(day, dt.time(8, 45)) + dt.timedelta(minutes=rng.randrange(500)))
                t = t.replace(year=day.year, month=day.month, day=day.day)
                office = "本庁舎" if channel == "郵送" else self._office(p)
            visits = 0 if channel != "窓口" else (2 if rng.random() < 0.08 else 1)
            first = True
            for code in procs:
                name, section, n_fields, held, docs, _ch = PROCEDURES[code]
                received = t
                t += dt.timedelta(minutes=rng.randint(3, 15))
                if channel == "オンライン":
                    done = received + dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 8))
                else:
                    done = received + dt.timedelta(minutes=rng.randint(10, 90), days=7 if visits == 2 else 0)
                end_of_extract = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0))
                known = held if first else min(n_fields, held + rng.randint(2, 6))
                if channel == "オンライン":
                    known = rng.randint(0, 2)  # prefilled from マイナポータル
                atena = ""
                if p is not None and p.record is not None and rng.random() > 0.05:
                    atena = p.record.atena
                rows.append((p, [None, case_id, received.strftime("%Y-%m-%d %H:%M:%S"),
                                 done.strftime("%Y-%m-%d %H:%M:%S") if done < end_of_extract else "",
                                 office, channel, code, name, atena, str(visits), str(n_fields),
                                 str(min(known, n_fields)), str(docs), section]))
                first = False
        rows.sort(key=lambda r: (r[1][2], r[1][1]))
        for i, (_p, r) in enumerate(rows, start=1):
            r[0] = f"U{day:%Y%m%d}{i:05d}"
        return rows

    def write_day(self, day: dt.date, events: list[Event], folder: dt.date) -> str:
        nz, out = self.nz, self.out
        rel = f"{SYSTEM}/{folder:%Y%m%d}/uketsuke_{day:%Y%m%d}.csv"
        stats = FileStats(SYSTEM)
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(COLUMNS)
        lines = [buf.getvalue()]
        for line_no, (p, r) in enumerate(self.day_rows(day, events), start=2):
            stats.rows += 1
            key, good = r[0], True
            if nz.hit("missing_key"):
                r[0], key = "", None
                out.fault(rel, stats, "quarantine", "missing_key", line_no, None)
            elif nz.hit("malformed_key"):
                key = r[0] = nz.choice((r[0][:-1], r[0].replace("U", "", 1), r[0] + "X"))
                out.fault(rel, stats, "quarantine", "malformed_key", line_no, f"{SYSTEM}|{key}" if r[8] else None)
                good = False
            elif nz.hit("truncated_record"):
                r = r[: nz.rng.randint(3, len(r) - 2)]
                out.fault(rel, stats, "quarantine", "truncated_line", line_no, f"{SYSTEM}|{key}" if len(r) > 8 and r[8] else None)
                good = False
            elif r[8] and nz.hit("bad_hand_typed_atena"):
                r[8] = nz.transpose_or_mistype(r[8], atena_valid)
                out.fault(rel, stats, "field_issue", "bad_check_digit_atena", line_no, f"{SYSTEM}|{key}")
            elif r[8] and p is not None and nz.hit("borrowed_atena"):
                member = family_member(p, nz.rng)
                if member is not None:
                    r[8] = member.record.atena
                    out.borrowed_key(f"{SYSTEM}|{key}", "atena_bango", r[8], member.true_id, "family_member")
            elif nz.hit("unknown_code"):
                r[4] = "市川駅行政サービスセンター別館"
                out.fault(rel, stats, "field_issue", "unknown_code", line_no, f"{SYSTEM}|{key}")
            # a truth row for every procedure whose log row carries a 宛名番号
            if key is not None and p is not None and len(r) > 8 and r[8]:
                out.add_truth("person", SYSTEM, key, p.true_id, good=good)
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(r)
            lines.append(buf.getvalue())
        out.write(rel, ("\ufeff" + "".join(lines)).encode("utf-8"), stats)
        return rel
