"""Reviewers' decisions as labels: what they do to the review band, and the band's figures on them."""

from __future__ import annotations

import datetime as dt
import random

from core import lake
from identity.link import ensure_tables
from identity.linkage import LinkageConfig
from identity.linkage.calibrate import fit_band, on_labels, read_labels
from tests.support.lakes import platform_at


def _labels(seed: int = 1) -> list[tuple[float, bool]]:
    """A model that is right above 0.85 and below 0.6, and unsure between."""
    rng = random.Random(seed)
    out = [(rng.uniform(0.85, 0.95), True) for _ in range(40)]
    out += [(rng.uniform(0.5, 0.6), False) for _ in range(40)]
    out += [(rng.uniform(0.6, 0.85), rng.random() < 0.5) for _ in range(40)]
    return out


def test_labels_move_the_band_to_where_the_model_is_right_on_its_own():
    config = LinkageConfig()
    labels = _labels()
    fitted = fit_band(config, labels)
    assert 0.82 < fitted.link <= 0.86, fitted  # pairs above ~0.85 were all the same: linked without review
    assert 0.58 < fitted.review_lower < 0.63, fitted  # pairs below ~0.6 were all different: not queued
    # the queue (pairs inside the band) shrinks, and the band's precision on the labels holds
    inside = lambda c: sum(1 for p, _ in labels if c.review_lower <= p < c.link)  # noqa: E731
    assert inside(fitted) < inside(config) * 0.6
    assert on_labels(fitted, labels).precision >= 0.99
    assert on_labels(fitted, labels).recall > on_labels(config, labels).recall


def test_few_or_contradicting_labels_leave_the_band_alone():
    config = LinkageConfig()
    assert fit_band(config, _labels()[:15]) == config
    noisy = [(p, random.Random(i).random() < 0.5) for i, (p, _) in enumerate(_labels())]
    fitted = fit_band(config, noisy)
    assert fitted.link == config.link and fitted.review_lower <= 0.55
    # never below the floor, never inverted
    always_same = [(0.5 + i / 200, True) for i in range(90)]
    fitted = fit_band(config, always_same)
    assert fitted.link >= config.link_floor and fitted.review_lower <= fitted.link


def test_labels_are_read_from_the_reviewers_decisions_and_the_queue(tmp_path):
    with platform_at(tmp_path):
        con = lake.connect()
        ensure_tables(con, "person")
        con.execute("create table lake.identity.person_review_queue (unique_id_l varchar, unique_id_r varchar, "
                    "match_probability double, run_id varchar, status varchar)")
        now = dt.datetime.now(dt.UTC)
        con.executemany("insert into lake.identity.person_review_queue values (?, ?, ?, 'person-000001', 'open')",
                        [("a", "b", 0.9), ("c", "d", 0.55), ("e", "f", 0.7), ("g", "h", None)])
        con.executemany("insert into lake.identity.person_review_decisions (unique_id_l, unique_id_r, decision, "
                        "reviewer, note, decided_at) values (?, ?, ?, 'r', null, ?)",
                        [("a", "b", "match", now), ("c", "d", "no_match", now),
                         ("e", "f", "match", now), ("e", "f", "withdrawn", now + dt.timedelta(seconds=1)),
                         ("g", "h", "match", now)])
        assert sorted(read_labels(con, "person")) == [(0.55, False), (0.9, True)]
        con.close()
