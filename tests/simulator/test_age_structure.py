"""The simulated city is shaped like Ichikawa: its age and sex structure follows the published one kept in
the simulator's data folder, band by band."""

from __future__ import annotations

from simulator.config import SimConfig
from simulator.world import World, age_structure


def test_published_structure_is_complete():
    bands = age_structure()
    assert abs(sum(b[2] for b in bands) - 1.0) < 1e-6
    assert [b[0] for b in bands] == list(range(0, 105, 5))


def test_initial_population_matches_the_published_age_structure():
    world = World(SimConfig(residents=30_000, days=0, seed=11))
    world.build()
    residents = [p for p in world.persons if p.resident and p.alive and not p.jutogai and p.record is not None
                 and p.record.status == 1]
    ages = [p.age(world.today) for p in residents]
    n = len(ages)
    share = lambda lo, hi: sum(lo <= a <= hi for a in ages) / n  # noqa: E731
    bands = age_structure()
    published = lambda lo, hi: sum(s for b0, b1, s, _ in bands if lo <= b0 and b1 <= hi)  # noqa: E731
    assert abs(share(0, 14) - published(0, 14)) < 0.012, share(0, 14)  # about 11%, not the 18% of 0-9 of old
    assert abs(share(65, 200) - published(65, 104)) < 0.012, share(65, 200)
    for lo, hi, s, _ in bands:
        assert abs(share(lo, hi) - s) < 0.01, (lo, hi, share(lo, hi), s)
    households = {id(p.household) for p in residents}
    assert 1.8 <= n / len(households) <= 2.1  # about 1.9 persons per household in the city
    old = [p for p, a in zip(residents, ages) if a >= 85]
    assert sum(p.sex == 2 for p in old) / len(old) > 0.55  # women outlive men
