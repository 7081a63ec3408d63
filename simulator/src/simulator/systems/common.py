"""What every system renderer shares: the output collector (files, truth rows,
manifest) and the ways departmental staff write names, addresses and phones."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import jaconv

from core.clock import JST
from simulator.entities import Address, Business, Person, kanji_number
from simulator.names import ITAIJI, SURNAMES, given_pool
from simulator.noise import Noise


@dataclass
class FileStats:
    system: str
    rows: int = 0
    quarantine: Counter = field(default_factory=Counter)
    field_issues: Counter = field(default_factory=Counter)
    special: str | None = None


class Output:
    """Collects everything written: truth rows, deliberately broken rows and per-file counts.

    Files are written to disk as soon as they are complete, so a 500,000-resident
    city never holds its extracts in memory twice.
    """

    def __init__(self, landing: Path, truth: Path) -> None:
        self.landing, self.truth_dir = landing, truth
        self.truth: dict[tuple[str, str], str] = {}
        self.truth_seen_good: set[tuple[str, str]] = set()
        self.truth_in_unclosed: set[tuple[str, str]] = set()
        self.quarantine_rows: list[dict] = []
        self.field_issue_rows: list[dict] = []
        self.files: dict[str, FileStats] = {}
        self.resent: dict[str, str] = {}
        self.unclosed: list[str] = []
        self.schema_drift: list[dict] = []
        self.kinds: dict[str, str] = {}  # truth "system|key" -> person | business
        self.borrowed: dict[str, dict] = {}  # truth "system|key" -> the borrowed key and whose it is

    # --- truth -------------------------------------------------------------------------------
    def add_truth(self, kind: str, system: str, key: str, true_id: str, good: bool = True) -> None:
        k = (system, key)
        prev = self.truth.get(k)
        if prev is not None and prev != true_id:
            raise AssertionError(f"truth key {system}|{key} describes {prev} and {true_id}")
        self.truth[k] = true_id
        self.kinds[f"{system}|{key}"] = kind
        if good:
            self.truth_seen_good.add(k)

    # --- files -------------------------------------------------------------------------------
    def write(self, rel: str, data: bytes, stats: FileStats) -> None:
        path = self.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[rel] = stats

    def fault(self, rel: str, stats: FileStats, cls: str, kind: str, line: int, truth_key: str | None) -> None:
        row = {"file": rel, "kind": kind, "line": line, "truth_key": truth_key}
        if cls == "quarantine":
            stats.quarantine[kind] += 1
            self.quarantine_rows.append(row)
        else:
            stats.field_issues[kind] += 1
            self.field_issue_rows.append(row)

    def borrowed_key(self, truth_key: str, field: str, value: str, owner_true_id: str, how: str) -> None:
        """A record carrying another entity's valid key: nothing for ingestion to flag, only the rest of the
        record tells (the linkage must not merge it with the key's owner on the key alone)."""
        self.borrowed[truth_key] = {"truth_key": truth_key, "field": field, "value": value,
                                    "owner_true_id": owner_true_id, "how": how}

    def close(self, system: str, day: dt.date) -> None:
        (self.landing / system / f"{day:%Y%m%d}" / "_SUCCESS").touch()

    def resend(self, rel: str, to_day: dt.date) -> str:
        """Deliver an already delivered file again, byte for byte, in a later folder."""
        src = self.landing / rel
        system, _day, name = rel.split("/")
        new_rel = f"{system}/{to_day:%Y%m%d}/{name}"
        dst = self.landing / new_rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        # a byte-identical re-send is a no-op for ingestion: nothing new to quarantine or flag
        self.files[new_rel] = FileStats(system, self.files[rel].rows, special=f"resend_of:{rel}")
        self.resent[new_rel] = rel
        return new_rel

    def manifest(self, noise: Noise, config_dump: dict) -> dict:
        def keys(s: set[tuple[str, str]]) -> list[str]:
            return sorted(f"{a}|{b}" for a, b in s)

        only_quarantined = {k for k in self.truth if k not in self.truth_seen_good}
        return {
            "about": "Deliberate faults in this simulated landing zone, divided as the spec divides them: "
                     "quarantine_rows must land in quarantine; field_issue_rows load with the named field null "
                     "and flagged; borrowed_keys carry another entity's valid key (nothing to flag: the linkage "
                     "must not merge them with its owner on the key alone). noise gives, per kind, the records eligible, the faults applied and the "
                     "configured rate.",
            "quarantine_rows": self.quarantine_rows,
            "field_issue_rows": self.field_issue_rows,
            "resent": self.resent,
            "unclosed": self.unclosed,
            "truth_rows_only_in_quarantined_rows": keys(only_quarantined - self.truth_in_unclosed),
            "truth_rows_only_in_unclosed_delivery": keys(self.truth_in_unclosed),
            "schema_drift": self.schema_drift,
            "borrowed_keys": [self.borrowed[k] for k in sorted(self.borrowed)],
            "noise": {k: {"eligible": noise.eligible[k], "applied": noise.applied.get(k, 0),
                          "rate": getattr(noise.rates, k)} for k in sorted(noise.eligible)},
            "config": config_dump,
            "files": {rel: {"system": s.system, "rows": s.rows, "quarantine": dict(sorted(s.quarantine.items())),
                            "field_issues": dict(sorted(s.field_issues.items())),
                            **({"special": s.special} if s.special else {})}
                      for rel, s in sorted(self.files.items())},
        }

    def write_truth(self, noise: Noise, config_dump: dict) -> None:
        self.truth_dir.mkdir(parents=True, exist_ok=True)
        for kind, fname in (("person", "person_truth.csv"), ("business", "business_truth.csv")):
            rows = sorted((s, k, t) for (s, k), t in self.truth.items() if self.kinds[f"{s}|{k}"] == kind)
            text = "source_system,source_record_key,true_id\n" + "".join(f"{s},{k},{t}\n" for s, k, t in rows)
            (self.truth_dir / fname).write_text(text, encoding="utf-8", newline="")
        manifest = json.dumps(self.manifest(noise, config_dump), ensure_ascii=False, indent=1, default=str)
        (self.truth_dir / "manifest.json").write_text(manifest + "\n", encoding="utf-8")


# --- borrowed keys ---------------------------------------------------------------------------------
def other_firm(businesses: list[Business], b: Business, rng: random.Random) -> Business | None:
    """The corporation whose 法人番号 a form for ``b`` carries by mistake: a related firm (one whose name
    starts the same way) where there is one, else any corporation."""
    for _ in range(40):
        other = businesses[rng.randrange(len(businesses))]
        if other is not b and other.houjin_bango and other.core[0][:2] == b.core[0][:2]:
            return other
    others = [o for o in businesses[:2000] if o is not b and o.houjin_bango]
    return rng.choice(others) if others else None


def family_member(p: Person, rng: random.Random) -> Person | None:
    """A member of ``p``'s household with a registry record of their own (whose 宛名番号 a form may carry)."""
    members = [m for m in (p.household.members if p.household else []) if m is not p and m.record is not None]
    return rng.choice(members) if members else None


# --- how people are written --------------------------------------------------------------------
def registered_surname(p: Person, surname: str | None = None) -> str:
    """The surname as the registry holds it (a variant character where the person registered one)."""
    s = surname if surname is not None else SURNAMES[p.sur][0]
    if p.itaiji_registered:
        s = "".join(ITAIJI[c][p.idx % len(ITAIJI[c])] if c in ITAIJI else c for c in s)
    return s


def common_surname(p: Person, sur_index: int | None = None) -> str:
    return SURNAMES[p.sur if sur_index is None else sur_index][0]


def given_kanji(p: Person) -> str:
    return given_pool(p.sex)[p.given][0]


def kana_parts(p: Person, sur_index: int | None = None) -> tuple[str, str]:
    return SURNAMES[p.sur if sur_index is None else sur_index][1], given_pool(p.sex)[p.given][1]


def person_name(nz: Noise, p: Person, sur_index: int | None = None, sep: str = "　", typo: bool = False) -> str:
    """A kanji name as a department outside the registry writes it."""
    sur = common_surname(p, sur_index)
    if p.itaiji_registered:
        # registered in a variant form (髙, 﨑, 邊 …): other systems often only have the common form
        sur = nz.maybe_itaiji(registered_surname(p, sur))
    given = given_kanji(p)
    if typo:
        given = nz.maybe_typo_kanji(given)
    return nz.spaced(sur, given, sep)


def person_kana(nz: Noise, p: Person, sur_index: int | None = None, sep: str = "　", hiragana: bool = False,
                halfwidth: bool = False, typo: bool = False) -> str:
    s, g = kana_parts(p, sur_index)
    s, g = nz.maybe_kana_variant(s), nz.maybe_kana_variant(g)
    if typo:
        g = nz.maybe_typo_kana(g)
    return nz.kana_display(nz.spaced(s, g, sep), hiragana, halfwidth)


def address_text(nz: Noise, a: Address, prefix: str = "maybe", with_hoshogaki: bool = True) -> str:
    """An address as typed by staff or residents: prefix or not, 丁目 as kanji/digits/hyphens, 番地 vs 番."""
    if not a.in_city:
        body = f"{a.town}{a.chome}丁目{a.ban}番{a.go}号"
        head = a.pref + a.city
    else:
        styled = nz.hit("address_style")
        style = nz.choice(("digit_chome", "hyphen", "banchi", "kanji")) if styled else "kanji"
        if a.chome:
            if style == "hyphen":
                body = f"{a.town}{a.chome}-{a.ban}-{a.go}"
            elif style == "digit_chome":
                body = f"{a.town}{a.chome}丁目{a.ban}番{a.go}号"
            elif style == "banchi":
                body = f"{a.town}{a.chome}丁目{a.ban}番地{a.go}"
            else:
                body = f"{a.town}{kanji_number(a.chome)}丁目{a.ban}番{a.go}号"
        else:
            if style == "hyphen" and a.go:
                body = f"{a.town}{a.ban}-{a.go}"
            else:
                body = f"{a.town}{a.ban}番地" + (f"{a.go}" if a.go else "")
        head = "千葉県市川市"
    if prefix == "always":
        text = head + body
    elif prefix == "never":
        text = body
    else:
        text = nz.choice((head + body, "市川市" + body if a.in_city else head + body, body))
    if with_hoshogaki and a.building:
        glue = "" if nz.hit("hoshogaki_glued") else nz.choice((" ", "　"))
        text += glue + a.hoshogaki()
    return nz.maybe_hyphens(nz.maybe_fullwidth(text))


def phone_text(nz: Noise, phone: str) -> str:
    if nz.hit("hyphen_variant"):
        phone = phone.replace("-", nz.choice(("", "‐", "－", "ｰ")))
    return nz.maybe_fullwidth(phone)


def fullwidth(text: str) -> str:
    return jaconv.h2z(text, kana=True, ascii=True, digit=True)


def iso_jst(ts: dt.datetime) -> str:
    return ts.replace(tzinfo=JST).isoformat()
