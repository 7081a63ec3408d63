"""houjin: the National Tax Agency's 法人番号公表サイト download (30 columns, UTF-8, no header)."""

from __future__ import annotations

import csv
import datetime as dt
import io

from core.ids import houjin_valid
from simulator.entities import NEIGHBOURS, Business
from simulator.names import CORP_FORMS
from simulator.noise import Noise
from simulator.systems.common import FileStats, Output, fullwidth
from simulator.world import World

SYSTEM = "houjin"
COLUMNS = ["sequenceNumber", "corporateNumber", "process", "correct", "updateDate", "changeDate", "name",
           "nameImageId", "kind", "prefectureName", "cityName", "streetNumber", "addressImageId", "prefectureCode",
           "cityCode", "postCode", "addressOutside", "addressOutsideImageId", "closeDate", "closeCause",
           "successorCorporateNumber", "changeCause", "assignmentDate", "latest", "enName", "enPrefectureName",
           "enCityName", "enAddressOutside", "furigana", "hihyoji"]
CITY_CODES = {"市川市": "203"} | {city: code for pref, city, code, _p, _s in NEIGHBOURS if code}
NTA_START = dt.date(2015, 10, 5)


def in_chiba_file(b: Business) -> bool:
    return b.kind is not None and b.address.pref == "千葉県"


def street(b: Business) -> str:
    a = b.address
    if a.chome:
        return fullwidth(f"{a.town}{a.chome}丁目{a.ban}-{a.go}")
    return fullwidth(f"{a.town}{a.ban}番地" + (f"{a.go}" if a.go else ""))


class HoujinWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out

    def _row(self, seq: int, b: Business, process: str, change: dt.date, update: dt.date) -> list[str]:
        return [str(seq), b.houjin_bango, process, "0", update.isoformat(), change.isoformat(), b.name, "",
                b.kind, b.address.pref, b.address.city, street(b), "", "12", CITY_CODES[b.address.city],
                b.address.postal, "", "", b.closed.isoformat() if b.closed else "", b.close_cause or "",
                b.successor.houjin_bango if b.successor else "", "", max(b.established, NTA_START).isoformat(),
                "1", "", "", "", "", b.core[1], "0"]

    def _render(self, rel: str, rows: list[tuple[Business, list[str]]], stats: FileStats) -> None:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        for line_no, (b, row) in enumerate(rows, start=1):
            stats.rows += 1
            key, good = row[1], True
            if self.nz.hit("bad_key_check_digit"):
                key = row[1] = self.nz.transpose_or_mistype(row[1], houjin_valid)
                self.out.fault(rel, stats, "quarantine", "bad_check_digit_houjin", line_no, f"{SYSTEM}|{key}")
                good = False
            self.out.add_truth("business", SYSTEM, key, b.true_id, good=good)
            w.writerow(row)
        self.out.write(rel, buf.getvalue().encode("utf-8"), stats)

    def full(self, day: dt.date) -> None:
        corps = sorted((b for b in self.world.businesses if in_chiba_file(b)), key=lambda b: b.houjin_bango)
        rows = []
        for seq, b in enumerate(corps, start=1):
            last_process, last_day = b.history[-1]
            rows.append((b, self._row(seq, b, last_process, max(last_day, NTA_START), max(last_day, NTA_START))))
        self._render(f"{SYSTEM}/{day:%Y%m%d}/12_chiba_all_{day:%Y%m%d}.csv", rows, FileStats(SYSTEM))

    def diff(self, day: dt.date, events) -> str:
        rows = []
        for ev in events:
            b = ev.business
            if ev.kind == "corp" and b is not None and in_chiba_file(b):
                rows.append((b, self._row(len(rows) + 1, b, ev.reason, ev.date, day)))
        rel = f"{SYSTEM}/{day:%Y%m%d}/diff_{day:%Y%m%d}.csv"
        self._render(rel, rows, FileStats(SYSTEM, special=None if rows else "empty"))
        return rel


def form_variants(b: Business) -> list[str]:
    """How staff type a corporation's name: legal form spelled out, abbreviated, ㈱, or half-width kana."""
    if b.kind is None:
        return [b.core[0]]
    form, _kana, abbrevs, _hw = CORP_FORMS[b.kind]
    core = b.core[0]
    if b.form_before:
        return [form + core, form + "　" + core] + [a + core for a in abbrevs]
    return [core + form, core + "　" + form] + [core + a for a in abbrevs]
