"""keiyaku: 入札・契約管理システム, a relational database (SQLite file or PostgreSQL).

Rows carry ``updated_at`` (read incrementally by watermark) and vendors and
contracts are soft-deleted through ``deleted_at``.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

import jaconv

from core.ids import houjin_valid
from core.settings import mask_dsn
from simulator.entities import Business, Event, stable_seed
from simulator.noise import Noise
from simulator.systems.common import (
    FileStats,
    Output,
    address_text,
    iso_jst,
    other_firm,
    phone_text,
)
from simulator.systems.houjin import form_variants
from simulator.world import World

SYSTEM = "keiyaku"
DDL = [
    """CREATE TABLE gyosha (gyosha_id INTEGER PRIMARY KEY, houjin_bango TEXT, shogo TEXT NOT NULL, shogo_kana TEXT,
  daihyosha_shimei TEXT, shozaichi TEXT, denwa TEXT, gyoshu TEXT, toroku_ymd TEXT, updated_at TEXT NOT NULL,
  deleted_at TEXT)""",
    "CREATE INDEX gyosha_upd ON gyosha(updated_at)",
    """CREATE TABLE nyusatsu (nyusatsu_id INTEGER PRIMARY KEY, anken_id TEXT NOT NULL,
  gyosha_id INTEGER NOT NULL REFERENCES gyosha, nyusatsu_kingaku INTEGER, nyusatsu_ymd TEXT,
  rakusatsu INTEGER NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE INDEX nyusatsu_upd ON nyusatsu(updated_at)",
    """CREATE TABLE keiyaku (keiyaku_id INTEGER PRIMARY KEY, gyosha_id INTEGER NOT NULL REFERENCES gyosha,
  kenmei TEXT, keiyaku_kingaku INTEGER, keiyaku_ymd TEXT, koki_from TEXT, koki_to TEXT, tanto_ka TEXT,
  keiyaku_hoho TEXT, updated_at TEXT NOT NULL, deleted_at TEXT)""",
    "CREATE INDEX keiyaku_upd ON keiyaku(updated_at)",
]
WORKS = [("道路改良工事", "土木"), ("空調設備改修工事", "管"), ("樹木剪定業務委託", "造園"), ("庁舎清掃業務委託", "役務"),
         ("照明設備更新工事", "電気"), ("事務用品購入", "物品"), ("外壁塗装工事", "塗装"), ("測量業務委託", "測量"),
         ("施設警備業務委託", "役務"), ("舗装補修工事", "舗装"), ("校舎改築工事", "建築")]
SITES = ["行徳", "八幡", "国府台", "大野", "妙典", "湾岸小学校", "市川南", "曽谷", "原木公園", "行徳公園", "本庁舎"]
SECTIONS = ["総務課", "管財課", "道路建設課", "河川・下水道管理課", "教育施設課", "公園緑地課", "保健体育課", "契約課"]


class KeiyakuWriter:
    """Keeps the three tables in memory and writes the database once, at the end of the simulation."""

    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out
        self.rng = random.Random(stable_seed(world.config.seed, SYSTEM))
        self.gyosha: dict[int, list] = {}
        self.by_business: dict[int, list[int]] = {}
        self.nyusatsu: list[list] = []
        self.keiyaku: list[list] = []
        self.anken_seq: dict[int, int] = {}
        self.stats = FileStats(SYSTEM)

    # --- vendors -----------------------------------------------------------------------------------
    def _register(self, b: Business, when: dt.datetime) -> None:
        nz, rng = self.nz, self.rng
        gid = len(self.gyosha) + 1
        bango = b.houjin_bango if b.kind is not None and rng.random() > 0.1 else None
        if rng.random() < 0.15 and b.kind is not None:
            shogo = jaconv.z2h(b.core[1], kana=True) + ("(ｶ)" if b.kind == "301" else "")
            if b.kind == "301" and b.form_before:
                shogo = "(ｶ)" + jaconv.z2h(b.core[1], kana=True)
        else:
            shogo = nz.choice(form_variants(b))
        kana = nz.kana_display(b.core[1], allow_hiragana=False, allow_halfwidth=True)
        rep = b.daihyosha if rng.random() < 0.5 else b.daihyosha.replace("　", " ")
        row = [gid, bango, shogo, kana, rep, address_text(nz, b.address), phone_text(nz, b.phone), b.trade,
               when.date().isoformat(), iso_jst(when), None]
        self.gyosha[gid] = row
        self.by_business.setdefault(b.idx, []).append(gid)
        self._truth_row(gid, b)

    def _truth_row(self, gid: int, b: Business) -> None:
        row = self.gyosha[gid]
        self.out.add_truth("business", SYSTEM, f"gyosha:{gid}", b.true_id)
        if row[1] and self.nz.hit("bad_houjin_bango"):
            row[1] = self.nz.transpose_or_mistype(row[1], houjin_valid)
            self.out.fault(f"{SYSTEM}.sqlite#gyosha", self.stats, "field_issue", "bad_check_digit_houjin", gid,
                           f"{SYSTEM}|gyosha:{gid}")
        elif row[1] and self.nz.hit("borrowed_houjin_keiyaku"):
            donor = other_firm(self.world.businesses, b, self.rng)
            if donor is not None:
                row[1] = donor.houjin_bango
                self.out.borrowed_key(f"{SYSTEM}|gyosha:{gid}", "houjin_bango", donor.houjin_bango, donor.true_id,
                                      "related_firm")

    def initial(self, day: dt.date) -> None:
        w, rng = self.world, self.rng
        vendors = []
        for b in w.businesses:
            share = 1.0 if b.kind is None else (self.world.config.vendor_share if b.address.in_city else 0.3)
            if rng.random() < share:
                vendors.append(b)
        # vendors from Tokyo: in no Chiba file of the NTA, but registered here
        for _ in range(max(2, len(vendors) // 15)):
            b = w.new_business(w._past(30), in_city=False)
            while b.address.pref != "東京都":
                b.address = w.outside_address()
            vendors.append(b)
        registrations = []
        for b in vendors:
            registrations.append((max(b.established, day - dt.timedelta(days=3650))
                                  + dt.timedelta(days=rng.randrange(1, 400)), b))
            if rng.random() < 0.02:  # registered twice by different staff
                registrations.append((day - dt.timedelta(days=rng.randrange(30, 900)), b))
        registrations = [(min(d, day - dt.timedelta(days=1)), b) for d, b in registrations]
        registrations.sort(key=lambda t: (t[0], t[1].idx))
        for d, b in registrations:
            self._register(b, dt.datetime.combine(d, dt.time(9)) + dt.timedelta(minutes=rng.randrange(480)))
        n_past = int(max(2000 * w.config.scale, 10)) * 2
        for _i in range(n_past):
            d = day - dt.timedelta(days=rng.randrange(1, 730))
            self._anken(d)
        self.nyusatsu.sort(key=lambda r: (r[6], r[0]))
        self.keiyaku.sort(key=lambda r: (r[9], r[0]))
        self._renumber()

    def _renumber(self) -> None:
        for i, r in enumerate(self.nyusatsu, start=1):
            r[0] = i
        for i, r in enumerate(self.keiyaku, start=1):
            r[0] = i

    def _anken(self, d: dt.date) -> None:
        rng = self.rng
        work, trade = rng.choice(WORKS)
        live = [g for g in self.gyosha.values() if g[10] is None]
        cands = [g for g in live if g[7] == trade] or live
        if not cands:
            return
        fy = d.year if d.month >= 4 else d.year - 1
        self.anken_seq[fy] = self.anken_seq.get(fy, 0) + 1
        anken = f"{fy}-{self.anken_seq[fy]:05d}"
        base = rng.randrange(300, 30000) * 1000
        kenmei = rng.choice(SITES) + work
        when = dt.datetime.combine(d, dt.time(9)) + dt.timedelta(minutes=rng.randrange(480))
        if rng.random() < 0.25 or len(cands) < 3:
            winner, amount, hoho = rng.choice(cands), base, "随意契約"
        else:
            bidders = rng.sample(cands, min(len(cands), rng.randint(3, 8)))
            bids = sorted((int(base * rng.uniform(0.85, 1.05)) // 1000 * 1000, g[0]) for g in bidders)
            for rank, (amt, gid) in enumerate(bids):
                self.nyusatsu.append([0, anken, gid, amt, d.isoformat(), 1 if rank == 0 else 0, iso_jst(when)])
            amount, winner = bids[0][0], self.gyosha[bids[0][1]]
            hoho = rng.choice(("一般競争入札", "指名競争入札"))
        start = d + dt.timedelta(days=rng.randint(3, 20))
        self.keiyaku.append([0, winner[0], kenmei, amount, start.isoformat(), start.isoformat(),
                             (start + dt.timedelta(days=rng.randint(30, 300))).isoformat(), rng.choice(SECTIONS),
                             hoho, iso_jst(when + dt.timedelta(hours=1)), None])

    # --- a day ----------------------------------------------------------------------------------------
    def daily(self, day: dt.date, events: list[Event]) -> None:
        w, rng = self.world, self.rng
        for ev in events:
            b = ev.business
            if ev.kind != "corp" or b is None:
                continue
            when = w._when(day)
            gids = self.by_business.get(b.idx, [])
            if ev.reason == "01" and b.address.in_city and rng.random() < w.config.vendor_share:
                self._register(b, when)
            for gid in gids:
                row = self.gyosha[gid]
                if row[10] is not None:
                    continue
                if ev.reason == "11":
                    row[2], row[9] = self.nz.choice(form_variants(b)), iso_jst(when)
                elif ev.reason == "12":
                    row[5], row[9] = address_text(self.nz, b.address), iso_jst(when)
                elif ev.reason in ("21", "71"):
                    row[10] = row[9] = iso_jst(when)  # soft delete
        for _ in range(int(w.np.poisson(max(3000 * w.config.scale / 365, w.config.min_daily_events)))):
            self._anken(day)
        # a contract cancelled now and then: soft delete
        live = [k for k in self.keiyaku if k[10] is None]
        if live and rng.random() < 0.2:
            k = rng.choice(live)
            k[10] = k[9] = iso_jst(w._when(day))
        self._renumber_new()

    def _renumber_new(self) -> None:
        for rows in (self.nyusatsu, self.keiyaku):
            top = max((r[0] for r in rows), default=0)
            for r in rows:
                if r[0] == 0:
                    top += 1
                    r[0] = top

    # --- the database ----------------------------------------------------------------------------------
    def write(self, landing: Path, dsn: str | None) -> None:
        self.out.files[f"{SYSTEM}.sqlite#gyosha"] = self.stats
        self.stats.rows = len(self.gyosha)
        for table, rows in (("nyusatsu", self.nyusatsu), ("keiyaku", self.keiyaku)):
            self.out.files[f"{SYSTEM}.sqlite#{table}"] = FileStats(SYSTEM, rows=len(rows))
        tables = [("gyosha", [self.gyosha[k] for k in sorted(self.gyosha)]), ("nyusatsu", self.nyusatsu),
                  ("keiyaku", self.keiyaku)]
        if dsn:
            self._write_postgres(dsn, tables)
        else:
            self._write_sqlite(landing / SYSTEM / "keiyaku.sqlite", tables)

    @staticmethod
    def _write_sqlite(path: Path, tables) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".sqlite.tmp")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            for ddl in DDL:
                con.execute(ddl)
            for name, rows in tables:
                if rows:
                    marks = ",".join("?" * len(rows[0]))
                    con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
            con.commit()
        finally:
            con.close()
        tmp.replace(path)

    @staticmethod
    def _write_postgres(dsn: str, tables) -> None:
        import psycopg

        with psycopg.connect(dsn) as con:
            exists = con.execute(
                "select count(*) from information_schema.tables where table_schema = current_schema() "
                "and table_name in ('gyosha', 'nyusatsu', 'keiyaku')").fetchone()[0]
            if exists:
                raise RuntimeError(f"keiyaku tables already exist in {mask_dsn(dsn)}; simulate into an empty database")
            for ddl in DDL:
                con.execute(ddl.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY"))
            for name, rows in tables:
                if rows:
                    marks = ",".join(["%s"] * len(rows[0]))
                    with con.cursor() as cur:
                        cur.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
