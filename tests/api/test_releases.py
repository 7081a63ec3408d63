"""The API serves releases: a refresh writing the lake is never half visible, and answers name their snapshot."""

from __future__ import annotations

import threading

import pytest

from core import lake
from core.releases import latest_release, mark_release
from tests.support.api import running_api
from tests.support.lakes import build_lake, platform_at
from tests.support.paths import EXAMPLES
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def example_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("releases")
    with platform_at(root):
        build_lake(EXAMPLES / "landing")
    return root


def test_answers_stay_on_one_release_while_the_lake_is_rewritten(example_home, monkeypatch, tmp_path):
    monkeypatch.setenv("ONESOURCE_HOME", str(example_home / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")  # the test cities' lakes keep the SQLite catalog
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(example_home / "keys"))
    monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(tmp_path / "api.sqlite"))
    con = lake.connect()
    first = latest_release(con)
    pid = con.execute("select household_id, list(person_id) from lake.marts.dim_person where household_id is not null "
                      "group by 1 having count(*) > 1 order by 1 limit 1").fetchone()[1][0]
    with running_api() as api:
        _, headers = api.client(purposes=("jidou_teate",))
        watcher = api.http.app.state.ctx.watcher

        def ask() -> dict:
            r = api.http.get(f"/v1/persons/{pid}", params={"purpose": "jidou_teate"}, headers=headers)
            assert r.status_code == 200, r.text
            return r.json()

        before = ask()
        assert before["snapshot_id"] == first.snapshot_id
        # a refresh rewrites the marts (new snapshots) without releasing: nothing changes for the API
        con.execute("update lake.marts.dim_person set name = name || '（改）'")
        assert not watcher.refresh()
        assert ask()["data"] == before["data"]

        answers, errors, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    answers.append(ask())
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)

        def refresher():
            while not stop.is_set():
                watcher.refresh()

        threads = [threading.Thread(target=load), threading.Thread(target=refresher)]
        for t in threads:
            t.start()
        for _ in range(3):  # more rewrites, then a release, while requests flow
            con.execute("update lake.marts.dim_person set name = name || '・'")
            con.execute("update lake.marts.dim_person set name = replace(name, '・', '')")
        second = mark_release(con, "tests: second release")
        wait_until(lambda: bool(errors) or (answers and answers[-1]["snapshot_id"] == second.snapshot_id), 120,
                   0.05, "the API serving the second release")
        assert not errors, errors
        stop.set()
        for t in threads:
            t.join()
    con.close()
    assert not errors
    assert {a["snapshot_id"] for a in answers} <= {first.snapshot_id, second.snapshot_id}
    for a in answers:
        names = [a["data"]["name"]] + [m["name"] for m in a["data"]["household_members"]]
        renamed = [n.endswith("（改）") for n in names]
        # all of one release or all of the other, never a mix inside one answer
        assert all(renamed) if a["snapshot_id"] == second.snapshot_id else not any(renamed), a


def test_the_apps_long_lived_heap_is_out_of_the_collectors_view_while_it_serves(example_home, monkeypatch,
                                                                                 tmp_path):
    """A full collection under load walks every live object while requests wait (bench/bench_api.py: p99 35 ms
    at 8 connections, 5 ms once the app's own heap is frozen after start-up); a stopped app gives it back."""
    import gc

    monkeypatch.setenv("ONESOURCE_HOME", str(example_home / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")  # the test cities' lakes keep the SQLite catalog
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(example_home / "keys"))
    monkeypatch.setenv("ONESOURCE_API_STORE_FILE", str(tmp_path / "api.sqlite"))
    with running_api() as api:
        assert api.http.get("/health").status_code == 200
        assert api.served() is not None  # the release, loaded before the freeze
        frozen = gc.get_freeze_count()
    assert frozen > 10_000, frozen
    assert gc.get_freeze_count() == 0


def test_a_lake_that_cannot_be_read_is_said_once_not_at_every_poll(home, caplog, monkeypatch):
    """`onesource serve` on a home without a lake logged the same warning every second."""
    import logging

    from api.served import ReleaseWatcher

    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")
    watcher = ReleaseWatcher()
    with caplog.at_level(logging.WARNING, logger="api.served"):
        for _ in range(5):
            assert watcher.refresh() is False
    said = [r for r in caplog.records if "could not read the lake's releases" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in said]
