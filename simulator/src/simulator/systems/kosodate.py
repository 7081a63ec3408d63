"""kosodate: 保育所等入所申込, an Excel workbook kept by hand, one per fiscal year.

Row 1 a merged title, row 2 the header, data from row 3 with blank rows in
between; dates as date cells, free text or Excel serials; 宛名番号 often
typed as a number, so Excel drops its leading zeros.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from dataclasses import dataclass

from openpyxl import Workbook

from core.era import FREE_FORMS, format_free, to_excel_serial
from core.ids import atena_valid
from simulator.entities import Person, stable_seed
from simulator.names import NURSERIES
from simulator.noise import Noise
from simulator.systems.common import (
    FileStats,
    Output,
    address_text,
    family_member,
    person_kana,
    person_name,
    phone_text,
)
from simulator.world import World

SYSTEM = "kosodate"
COLUMNS = ["申込番号", "申込日", "保護者氏名", "保護者フリガナ", "保護者生年月日", "児童氏名", "児童フリガナ", "児童生年月日",
           "住所", "電話番号", "第一希望園", "宛名番号", "備考"]
NOTES = ["", "", "", "求職中", "育休復帰予定", "兄弟在園", "転入予定", "ひとり親", "就労証明書後日提出"]
ZIP_EPOCH = (2026, 1, 1, 0, 0, 0)


@dataclass
class Application:
    number: str
    applied: dt.date
    parent: Person
    child: Person
    moving_in: bool
    row: list | None = None  # rendered once: a hand-kept sheet does not retype old rows
    fault: str = ""
    key: str | None = None
    issues: list | None = None  # (kind, truth key) of flagged fields, reported in every delivery
    borrowed: Person | None = None  # the family member whose 宛名番号 the child's line carries


def fiscal_year(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


class KosodateWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out
        self.rng = random.Random(stable_seed(world.config.seed, SYSTEM))
        self.apps: list[Application] = []
        self.counters: dict[int, int] = {}
        self.fy = fiscal_year(world.config.start)  # one workbook per fiscal year
        self.dirty = False

    @property
    def per_day(self) -> float:
        return max(0.009 * self.world.config.residents / 365, 0.3)

    def _new(self, day: dt.date) -> None:
        rng, w = self.rng, self.world
        moving_in = rng.random() < 0.08
        if moving_in:
            parent = w.new_person(2 if rng.random() < 0.85 else 1, rng.randint(25, 42))
            child = w.new_person(rng.randint(1, 2), rng.randint(0, 4), sur=parent.sur)
            parent.resident = child.resident = False
            parent.outside_address = child.outside_address = w.outside_address()
        else:
            child = None
            for _ in range(50):
                c = w.residents.pick(rng)
                if c is not None and c.age(day) <= 5 and c.household is not None:
                    parents = [m for m in c.household.members if m.zokugara in ("世帯主", "妻", "夫") and m.age(day) >= 18]
                    if parents:
                        child, parent = c, rng.choice(parents)
                        break
            if child is None:
                return
        fy = self.fy
        self.counters[fy] = self.counters.get(fy, 0) + 1
        number = f"R{fy - 2018}-{self.counters[fy]:05d}"
        self.apps.append(Application(number, day, parent, child, moving_in))
        self.dirty = True

    def _date_cell(self, day: dt.date):
        nz = self.nz
        if nz.hit("excel_serial"):
            return to_excel_serial(day)
        if nz.hit("date_text"):
            return format_free(day, nz.choice(FREE_FORMS))
        return dt.datetime.combine(day, dt.time(0))

    def _render_row(self, app: Application) -> list:
        nz = self.nz
        app.issues = []
        p, c = app.parent, app.child
        addr = p.outside_address if app.moving_in else p.address
        row = [app.number, self._date_cell(app.applied),
               person_name(nz, p, sep=nz.choice(("　", " ", "")), typo=True),
               person_kana(nz, p, sep=nz.choice(("　", " ", "")), hiragana=True, halfwidth=True, typo=True),
               self._date_cell(p.birth), person_name(nz, c, sep=nz.choice(("　", " ", ""))),
               person_kana(nz, c, sep=nz.choice(("　", " ", "")), hiragana=True, halfwidth=True),
               self._date_cell(c.birth), address_text(nz, addr), phone_text(nz, self.world.mobile()),
               nz.choice(NURSERIES), None, "転入予定" if app.moving_in else nz.choice(NOTES)]
        if not app.moving_in and c.record is not None and self.rng.random() < 0.6:
            atena = c.record.atena
            if nz.hit("bad_hand_typed_atena"):
                atena = nz.transpose_or_mistype(atena, atena_valid)
                app.issues.append(("bad_check_digit_atena", "児童"))
            elif nz.hit("borrowed_atena"):
                member = family_member(c, self.rng)
                if member is not None:
                    atena = member.record.atena
                    app.borrowed = member
            row[11] = int(atena) if nz.hit("leading_zero_dropped") else atena
        if nz.hit("invalid_date"):
            y = p.birth.year
            row[4] = nz.choice((f"{y}/2/30", f"{y}-04-31", format_free(p.birth, "kanji_era").split("年")[0] + "年2月30日"))
            app.issues.append(("invalid_date", "保護者"))
        return row

    def _faults(self, app: Application) -> tuple[str, str | None]:
        """A broken 申込番号 (decided once per application: the sheet keeps it)."""
        if self.nz.hit("missing_key"):
            return "missing_key", None
        if self.nz.hit("malformed_key"):
            return "malformed_key", self.nz.choice((app.number.replace("-", ""), app.number.replace("R", "Ｒ"),
                                                    app.number[:-1]))
        return "", app.number

    def initial(self, day: dt.date) -> None:
        d = dt.date(self.fy - 1, 10, 1)  # applications for April open in October
        while d < day:
            for _ in range(int(self.world.np.poisson(self.per_day))):
                self._new(d)
            d += dt.timedelta(days=1)
        self.deliver(day)

    def daily(self, day: dt.date, index: int) -> str | None:
        for _ in range(int(self.world.np.poisson(self.per_day))):
            self._new(day - dt.timedelta(days=1))
        if self.dirty and index % 7 == 0:
            return self.deliver(day)
        return None

    def deliver(self, day: dt.date) -> str:
        fy = self.fy
        rel = f"{SYSTEM}/{day:%Y%m%d}/hoiku_moushikomi_R{fy - 2018}.xlsx"
        stats = FileStats(SYSTEM)
        wb = Workbook()
        ws = wb.active
        ws.title = "申込一覧"
        ws.append([f"令和{fy - 2018}年度 保育所等入所申込一覧"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
        ws.append(COLUMNS)
        excel_row = 2
        for app in self.apps:
            if self.rng.random() < 0.03:
                ws.append([])
                excel_row += 1
            excel_row += 1
            if app.row is None:
                app.row = self._render_row(app)
                app.fault, app.key = self._faults(app)
            row = list(app.row)
            if app.fault == "missing_key":
                row[0] = None
                self.out.fault(rel, stats, "quarantine", "missing_key", excel_row, None)
            elif app.fault == "malformed_key":
                row[0] = app.key
                self.out.fault(rel, stats, "quarantine", "malformed_key", excel_row, f"{SYSTEM}|{app.key}:保護者")
            elif app.key is not None:
                for kind, who in app.issues:
                    self.out.fault(rel, stats, "field_issue", kind, excel_row, f"{SYSTEM}|{app.key}:{who}")
            if app.key is not None:
                good = not app.fault
                self.out.add_truth("person", SYSTEM, f"{app.key}:保護者", app.parent.true_id, good=good)
                self.out.add_truth("person", SYSTEM, f"{app.key}:児童", app.child.true_id, good=good)
                if app.borrowed is not None and good:
                    self.out.borrowed_key(f"{SYSTEM}|{app.key}:児童", "atena_bango", app.borrowed.record.atena,
                                          app.borrowed.true_id, "family_member")
            stats.rows += 1
            ws.append(row)
            for cell in ws[excel_row]:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "yyyy/m/d"
        wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)
        wb.properties.creator = "保育課"
        buf = io.BytesIO()
        wb.save(buf)
        self.out.write(rel, _stable_zip(buf.getvalue()), stats)
        self.dirty = False
        return rel


def _stable_zip(data: bytes) -> bytes:
    """Rewrite the xlsx container with fixed timestamps so the same seed gives the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time into dcterms:modified; pin it to the workbook's date
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>2026-01-01T00:00:00Z\g<2>", content)
            zi = zipfile.ZipInfo(info.filename, ZIP_EPOCH)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, content)
    return out.getvalue()
