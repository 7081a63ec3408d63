"""Run the simulator: the initial full delivery, then one delta a day, truth files last."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from simulator.config import SimConfig
from simulator.entities import stable_seed
from simulator.noise import Noise
from simulator.systems.common import Output
from simulator.systems.hojokin import HojokinWriter
from simulator.systems.houjin import HoujinWriter
from simulator.systems.juki import JukiWriter
from simulator.systems.keiyaku import KeiyakuWriter
from simulator.systems.kokuho import KokuhoWriter
from simulator.systems.kosodate import KosodateWriter
from simulator.systems.madoguchi import MadoguchiWriter
from simulator.systems.zei import ZeiWriter
from simulator.world import World

FOLDER_SYSTEMS = ("juki", "zei", "kokuho", "kosodate", "houjin", "hojokin", "madoguchi")
RESENDABLE = ("juki", "kokuho", "houjin", "madoguchi")
INITIAL_MADOGUCHI_DAYS = 7


class SimulationError(RuntimeError):
    """A simulation that cannot start (for example a landing zone that is not empty)."""


@dataclass
class Summary:
    residents: int
    persons: int
    businesses: int
    days: int
    files: int
    rows: Counter = field(default_factory=Counter)
    quarantine_rows: int = 0
    field_issue_rows: int = 0
    person_truth_rows: int = 0
    business_truth_rows: int = 0

    def line(self) -> str:
        per_system = ", ".join(f"{s} {n:,}" for s, n in sorted(self.rows.items()))
        return (f"simulated {self.residents:,} residents over {self.days} days: {self.files:,} files "
                f"({per_system}); {self.quarantine_rows:,} rows to quarantine, {self.field_issue_rows:,} "
                f"flagged fields; truth {self.person_truth_rows:,} person and {self.business_truth_rows:,} "
                f"business rows")


def _check_dirs(landing: Path, truth: Path) -> None:
    landing, truth = landing.resolve(), truth.resolve()
    if truth == landing or landing in truth.parents:
        raise SimulationError(f"the truth folder {truth} must not be inside the landing zone {landing}")
    for d in (landing, truth):
        if d.exists() and any(d.iterdir()):
            raise SimulationError(f"{d} is not empty: simulate into a new folder")


def write_registry_truth(truth: Path, world: World, taxation: dict[tuple[int, str], int]) -> None:
    """registry_truth.csv: every person registered at the end, as the world holds them (not as any system
    wrote them): household, relation, birth (and how precisely the registry knows it), the date they became
    a resident, and the newest fiscal year's 課税区分 (3: exempt) where the city taxes them."""
    fy = max((y for y, _ in taxation), default=None)
    lines = ["true_id,setai,zokugara,birth,birth_precision,became_resident,fiscal_year,taxation\n"]
    for p in sorted(world.persons, key=lambda p: p.true_id):
        rec = p.record
        if p.jutogai or not p.alive or not p.resident or rec is None or rec.status != 1 or p.household is None:
            continue
        kubun = taxation.get((fy, p.true_id), "") if fy is not None else ""
        lines.append(f"{p.true_id},{p.household.setai},{p.zokugara},{p.birth.isoformat()},{p.birth_prec},"
                     f"{rec.became.isoformat()},{fy or ''},{kubun}\n")
    (truth / "registry_truth.csv").write_text("".join(lines), encoding="utf-8", newline="")


def simulate(landing: Path, truth: Path, config: SimConfig, keiyaku_dsn: str | None = None,
             on_step: Callable[[str], None] | None = None) -> Summary:
    """Write a landing zone and its truth files; the same config gives byte-identical output."""
    _check_dirs(landing, truth)
    step = on_step or (lambda _msg: None)
    world = World(config)
    world.build()
    nz = Noise(config.noise, random.Random(stable_seed(config.seed, "noise")))
    out = Output(landing, truth)
    juki, zei, kokuho = JukiWriter(world, nz, out), ZeiWriter(world, nz, out), KokuhoWriter(world, nz, out)
    kosodate, houjin = KosodateWriter(world, nz, out), HoujinWriter(world, nz, out)
    keiyaku, hojokin = KeiyakuWriter(world, nz, out), HojokinWriter(world, nz, out)
    madoguchi = MadoguchiWriter(world, nz, out)
    if config.days >= 2:
        # the vendors add a key to their JSON half-way through, without notice
        kokuho.drift_from = hojokin.drift_from = config.start + dt.timedelta(days=max(1, config.days // 2))
        out.schema_drift += [{"system": "kokuho", "from": str(kokuho.drift_from), "new_key": "kofu_kubun"},
                             {"system": "hojokin", "from": str(hojokin.drift_from), "new_key": "uketsuke_channel"}]

    d0 = config.start
    juki.full(d0)
    zei.annual(d0)
    kokuho.full(d0)
    kosodate.initial(d0)
    houjin.full(d0)
    keiyaku.initial(d0)
    hojokin.initial(d0)
    for k in range(INITIAL_MADOGUCHI_DAYS - 1, -1, -1):
        madoguchi.write_day(d0 - dt.timedelta(days=k), [], folder=d0)
    for system in FOLDER_SYSTEMS:
        out.close(system, d0)
    step(f"initial delivery {d0:%Y-%m-%d}")

    yesterday: dict[str, str] = {}
    for i in range(1, config.days + 1):
        day = d0 + dt.timedelta(days=i)
        events = world.step(day)
        today = {"juki": juki.ido(day)}
        if day.day == 1:
            kokuho.full(day)
        today["kokuho"] = kokuho.daily(day, events)
        zei.corrections(day)
        kosodate.daily(day, i)
        today["houjin"] = houjin.diff(day, events)
        keiyaku.daily(day, events)
        hojokin.daily(day)
        last = i == config.days
        before = set(out.truth)
        today["madoguchi"] = madoguchi.write_day(day, events, folder=day)
        for system in RESENDABLE:
            if system in yesterday and nz.hit("resend"):
                out.resend(yesterday[system], day)
        for system in FOLDER_SYSTEMS:
            folder = landing / system / f"{day:%Y%m%d}"
            if not folder.exists():
                continue
            if last and system == "madoguchi":
                # the last delivery is still arriving: no _SUCCESS yet
                out.unclosed.append(f"{system}/{day:%Y%m%d}")
                out.truth_in_unclosed |= set(out.truth) - before
                continue
            out.close(system, day)
        yesterday = today
        step(f"delta {day:%Y-%m-%d}")

    keiyaku.write(landing, keiyaku_dsn)
    out.write_truth(nz, config.model_dump(mode="json"))
    write_registry_truth(out.truth_dir, world, zei.taxation)
    step("truth and manifest")

    summary = Summary(config.residents, len(world.persons), len(world.businesses), config.days, len(out.files))
    for stats in out.files.values():
        summary.rows[stats.system] += stats.rows
    summary.quarantine_rows = len(out.quarantine_rows)
    summary.field_issue_rows = len(out.field_issue_rows)
    summary.person_truth_rows = sum(1 for k in out.kinds.values() if k == "person")
    summary.business_truth_rows = sum(1 for k in out.kinds.values() if k == "business")
    return summary
