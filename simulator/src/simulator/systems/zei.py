"""zei: 個人住民税 課税台帳, fixed-width records of exactly 200 CP932 bytes + CRLF."""

from __future__ import annotations

import datetime as dt
import random

from core.ids import atena_valid
from simulator.entities import Address, Person, stable_seed
from simulator.noise import Noise
from simulator.systems.common import (
    FileStats,
    Output,
    address_text,
    fullwidth,
    person_kana,
    person_name,
)
from simulator.systems.juki import BAD_BYTES, birth_era7
from simulator.world import World

SYSTEM = "zei"
# (field, bytes, kind) in record order; kind: num (ASCII digits, right-aligned, zero-padded) or text
LAYOUT = [("年度", 4, "num"), ("宛名番号", 8, "num"), ("氏名カナ", 40, "text"), ("氏名", 40, "text"),
          ("生年月日", 7, "num"), ("性別", 1, "num"), ("住所", 60, "text"), ("総所得金額等", 12, "num"),
          ("所得割額", 10, "num"), ("均等割額", 6, "num"), ("課税区分", 1, "num"), ("扶養人数", 1, "num"),
          ("更新日", 8, "num"), ("予備", 2, "blank")]
RECORD_BYTES = 200
assert sum(w for _, w, _ in LAYOUT) == RECORD_BYTES


def fit_text(text: str, width: int) -> bytes:
    """Left-aligned CP932 text: cut at a character boundary, pad with full-width spaces, then one space."""
    out = b""
    for ch in text:
        b = ch.encode("cp932")
        if len(out) + len(b) > width:
            break
        out += b
    while len(out) + 2 <= width:
        out += "　".encode("cp932")
    if len(out) < width:
        out += b" "
    return out


def encode_record(values: dict[str, str | int]) -> bytes:
    parts = []
    for name, width, kind in LAYOUT:
        if kind == "num":
            parts.append(str(values[name]).rjust(width, "0").encode("ascii"))
        elif kind == "text":
            parts.append(fit_text(str(values[name]), width))
        else:
            parts.append(b" " * width)
    rec = b"".join(parts)
    assert len(rec) == RECORD_BYTES, len(rec)
    return rec


def tax(income: int, dependants: int) -> tuple[int, int, int]:
    """(所得割額, 均等割額, 課税区分) roughly as a city computes them."""
    if income <= 450_000 + 350_000 * dependants:
        return 0, 0, 3
    taxable = max(0, income - 430_000 - 330_000 * dependants)
    if taxable == 0:
        return 0, 5000, 2
    return taxable // 10 // 100 * 100, 5000, 1


class ZeiWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out
        self.rng = random.Random(stable_seed(world.config.seed, SYSTEM))
        self.fy_rows: dict[int, dict[str, tuple[Person, str]]] = {}
        self.taxation: dict[tuple[int, str], int] = {}  # (fiscal year, true id) -> 課税区分 last written (truth)

    def _on_jan1(self, fy: int) -> list[tuple[Person, str, Address, int]]:
        """(person, 宛名番号, address, surname index) of everyone the city taxes for fiscal year ``fy``."""
        jan1 = dt.date(fy, 1, 1)
        rows = []
        for p in self.world.persons:
            if p.jutogai:
                rows.append((p, p.tax_atena, p.outside_address, p.sur))
                continue
            if p.age(jan1) < 18:
                continue
            for rec in p.records:
                if rec.became <= jan1 and (rec.status == 1 or rec.ido_date > jan1):
                    addr = p.prev_address if (p.moved_on and p.moved_on > jan1 and p.prev_address) else rec.address
                    sur = p.prior_sur if (p.married_on and p.married_on > jan1 and p.prior_sur is not None) else p.sur
                    rows.append((p, rec.atena, addr, sur))
        rows.sort(key=lambda t: t[1])
        return rows

    def _values(self, fy: int, p: Person, atena: str, addr: Address, sur: int, updated: dt.date,
                income: int) -> dict[str, str | int]:
        nz = self.nz
        deps = sum(1 for m in (p.household.members if p.household else []) if m.age(dt.date(fy, 1, 1)) < 16) \
            if p.zokugara == "世帯主" else 0
        shotokuwari, kintowari, kubun = tax(income, deps)
        self.taxation[(fy, p.true_id)] = kubun
        name = person_name(nz, p, sur, sep="　")
        if p.gaiji_pos is not None and self.rng.random() < 0.5:
            name = name[: p.gaiji_pos] + "〓" + name[p.gaiji_pos + 1:]
        return {
            "年度": fy, "宛名番号": atena,
            "氏名カナ": fullwidth(person_kana(nz, p, sur, sep="　")), "氏名": name,
            "生年月日": birth_era7(p), "性別": p.sex,
            "住所": fullwidth(address_text(nz, addr, prefix="always")),
            "総所得金額等": income, "所得割額": shotokuwari, "均等割額": kintowari, "課税区分": kubun,
            "扶養人数": min(deps, 9), "更新日": f"{updated:%Y%m%d}",
        }

    def _render(self, rel: str, items: list[tuple[int, Person, str, Address, int, dt.date, int]]) -> None:
        nz, out = self.nz, self.out
        stats = FileStats(SYSTEM)
        chunks = []
        for line_no, (fy, p, atena, addr, sur, updated, income) in enumerate(items, start=1):
            v = self._values(fy, p, atena, addr, sur, updated, income)
            stats.rows += 1
            key = atena
            if nz.hit("missing_key"):
                v["宛名番号"] = "0" * 8
                rec = encode_record(v)
                rec = rec[:4] + b" " * 8 + rec[12:]
                out.fault(rel, stats, "quarantine", "missing_key", line_no, None)
                chunks.append(rec + b"\r\n")
                continue
            quarantined = True
            rec: bytes
            if nz.hit("bad_key_check_digit"):
                key = v["宛名番号"] = nz.transpose_or_mistype(atena, atena_valid)
                rec = encode_record(v)
                out.fault(rel, stats, "quarantine", "bad_check_digit_atena", line_no, f"{SYSTEM}|{fy}:{key}")
            elif nz.hit("undecodable_bytes"):
                rec = encode_record(v)
                rec = rec[:52] + BAD_BYTES + rec[54:]  # the first character of 氏名
                out.fault(rel, stats, "quarantine", "undecodable_bytes", line_no, f"{SYSTEM}|{fy}:{key}")
            elif nz.hit("truncated_record"):
                rec = encode_record(v)[: self.rng.randint(60, 190)]
                out.fault(rel, stats, "quarantine", "truncated_record", line_no, f"{SYSTEM}|{fy}:{key}")
            else:
                quarantined = False
                if nz.hit("invalid_date"):
                    b = v["生年月日"]
                    era = b[0] if b[0] != "0" else "3"
                    v["生年月日"] = f"{era}{b[1:3] if b[1:3] != '00' else '40'}{nz.choice(('0230', '0431', '0931'))}"
                    out.fault(rel, stats, "field_issue", "invalid_date", line_no, f"{SYSTEM}|{fy}:{key}")
                elif nz.hit("unknown_code"):
                    v["課税区分"] = 9
                    out.fault(rel, stats, "field_issue", "unknown_code", line_no, f"{SYSTEM}|{fy}:{key}")
                rec = encode_record(v)
            out.add_truth("person", SYSTEM, f"{fy}:{key}", p.true_id, good=not quarantined)
            chunks.append(rec + b"\r\n")
        out.write(rel, b"".join(chunks), stats)

    def annual(self, day: dt.date) -> None:
        """The initial delivery: last year's and this year's 課税台帳."""
        for fy in (day.year - 1, day.year):
            items = []
            rows = {}
            for p, atena, addr, sur in self._on_jan1(fy):
                items.append((fy, p, atena, addr, sur, dt.date(fy, 6, 10), p.income))
                rows[atena] = (p, addr, sur)
            self.fy_rows[fy] = rows
            self._render(f"{SYSTEM}/{day:%Y%m%d}/kojin_juminzei_{fy}.dat", items)

    def corrections(self, day: dt.date) -> str | None:
        """更正: some of this fiscal year's records recomputed; same (年度, 宛名番号) replaces."""
        fy = day.year if day.month >= 4 else day.year - 1
        rows = self.fy_rows.get(fy)
        if not rows:
            return None
        lam = max(6000 * self.world.config.scale / 365, self.world.config.min_daily_events)
        n = int(self.world.np.poisson(lam))
        if n == 0:
            return None
        keys = sorted(rows)
        items = []
        for atena in sorted(self.rng.sample(keys, min(n, len(keys)))):
            p, addr, sur = rows[atena]
            income = max(0, int(p.income * self.rng.uniform(0.7, 1.3)) // 1000 * 1000)
            items.append((fy, p, atena, addr, sur, day, income))
        rel = f"{SYSTEM}/{day:%Y%m%d}/kojin_juminzei_{fy}_kosei_{day:%Y%m%d}.dat"
        self._render(rel, items)
        return rel
