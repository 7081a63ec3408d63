"""juki: 住民記録システム, CP932 CSV, CRLF, every field double-quoted."""

from __future__ import annotations

import datetime as dt

import jaconv

from core.era import to_era7
from core.ids import atena_valid, my_number_valid
from simulator.entities import JukiRecord, Person
from simulator.names import SURNAMES
from simulator.noise import Noise
from simulator.systems.common import (
    FileStats,
    Output,
    given_kanji,
    kana_parts,
    registered_surname,
)
from simulator.world import World

SYSTEM = "juki"
COLUMNS = ["宛名番号", "世帯番号", "個人番号", "氏名", "氏名カナ", "旧氏", "生年月日", "性別", "続柄", "郵便番号", "住所",
           "方書", "住民となった年月日", "住定日", "住民状態", "異動事由", "異動年月日", "届出年月日", "更新日時"]
HEADER = (",".join(f'"{c}"' for c in COLUMNS) + "\r\n").encode("cp932")
BAD_BYTES = b"\x85\x40"  # a lead byte CP932 does not assign


def birth_era7(p: Person) -> str:
    prec = {"day": "day", "unknown_d": "month", "unknown_md": "year"}[p.birth_prec]
    return to_era7(p.birth, prec)


def _fields(p: Person, rec: JukiRecord, sur_index: int) -> list[str]:
    sur = registered_surname(p, SURNAMES[sur_index][0])
    full = f"{sur}　{given_kanji(p)}"
    if p.gaiji_pos is not None:
        # a 外字 the registry cannot export comes out as 〓
        full = full[: p.gaiji_pos] + "〓" + full[p.gaiji_pos + 1:]
    s_kana, g_kana = kana_parts(p, sur_index)
    kana = jaconv.z2h(f"{s_kana} {g_kana}", kana=True, ascii=True, digit=True)
    old = SURNAMES[p.old_sur][0] if p.old_sur is not None and rec.status == 1 else ""
    addr = rec.address
    my_number = p.my_number or ""
    return [rec.atena, rec.setai, my_number, full, kana, old, birth_era7(p), str(p.sex), rec.zokugara,
            addr.postal, addr.canonical(), addr.hoshogaki(), to_era7(rec.became), to_era7(rec.juteibi),
            str(rec.status), rec.reason, f"{rec.ido_date:%Y%m%d}", f"{rec.todoke_date:%Y%m%d}",
            rec.updated.strftime("%Y-%m-%d %H:%M:%S")]


def _line(fields: list[str]) -> bytes:
    return (",".join(f'"{v}"' for v in fields) + "\r\n").encode("cp932")


class JukiWriter:
    def __init__(self, world: World, nz: Noise, out: Output) -> None:
        self.world, self.nz, self.out = world, nz, out

    def _render(self, rel: str, rows: list[tuple[Person, JukiRecord, int]], stats: FileStats) -> bytes:
        nz, out = self.nz, self.out
        chunks = [HEADER]
        for line_no, (p, rec, sur_index) in enumerate(rows, start=2):
            f = _fields(p, rec, sur_index)
            stats.rows += 1
            key = f[0]
            data: bytes | None = None
            if nz.hit("missing_key"):
                f[0] = ""
                out.fault(rel, stats, "quarantine", "missing_key", line_no, None)
                chunks.append(_line(f))
                continue
            quarantined = True
            if nz.hit("bad_key_check_digit"):
                key = f[0] = nz.transpose_or_mistype(f[0], atena_valid)
                out.fault(rel, stats, "quarantine", "bad_check_digit_atena", line_no, f"{SYSTEM}|{key}")
            elif nz.hit("undecodable_bytes"):
                # spoil the 氏名 field: its first character becomes a byte pair CP932 does not assign
                name_bytes = f'"{f[3]}"'.encode("cp932")
                data = _line(f).replace(name_bytes, b'"' + BAD_BYTES + name_bytes[3:], 1)
                out.fault(rel, stats, "quarantine", "undecodable_bytes", line_no, f"{SYSTEM}|{key}")
            elif nz.hit("truncated_record"):
                cut = nz.rng.randint(5, len(f) - 2)
                data = (",".join(f'"{v}"' for v in f[:cut]) + "\r\n").encode("cp932")
                out.fault(rel, stats, "quarantine", "truncated_line", line_no, f"{SYSTEM}|{key}")
            else:
                quarantined = False
                if nz.hit("invalid_date"):
                    era = f[6][0] if f[6][0] != "0" else "4"
                    year = f[6][1:3] if f[6][1:3] != "00" else "10"
                    f[6] = f"{era}{year}{nz.choice(('0230', '0431', '0631', '0931', '1131'))}"
                    out.fault(rel, stats, "field_issue", "invalid_date", line_no, f"{SYSTEM}|{key}")
                elif f[2] and nz.hit("bad_my_number"):
                    f[2] = nz.transpose_or_mistype(f[2], my_number_valid)
                    out.fault(rel, stats, "field_issue", "bad_check_digit_my_number", line_no, f"{SYSTEM}|{key}")
                elif nz.hit("unknown_code"):
                    col = nz.choice((7, 8, 15))
                    f[col] = {7: "9", 8: "その他", 15: "99"}[col]
                    out.fault(rel, stats, "field_issue", "unknown_code", line_no, f"{SYSTEM}|{key}")
            out.add_truth("person", SYSTEM, key, p.true_id, good=not quarantined)
            chunks.append(data if data is not None else _line(f))
        return b"".join(chunks)

    def full(self, day: dt.date) -> None:
        records = [(p, rec, p.sur) for p in self.world.persons for rec in p.records]
        records.sort(key=lambda t: t[1].atena)
        rel = f"{SYSTEM}/{day:%Y%m%d}/juki_full_{day:%Y%m%d}.csv"
        stats = FileStats(SYSTEM)
        self.out.write(rel, self._render(rel, records, stats), stats)

    def ido(self, day: dt.date) -> str:
        log = sorted(self.world.ido_log, key=lambda t: t[0])
        self.world.ido_log.clear()
        rows = [(p, snap, snap.sur_at if snap.sur_at is not None else p.sur) for _when, p, snap in log]
        rel = f"{SYSTEM}/{day:%Y%m%d}/juki_ido_{day:%Y%m%d}.csv"
        stats = FileStats(SYSTEM, special=None if rows else "header_only")
        self.out.write(rel, self._render(rel, rows, stats), stats)
        return rel
