"""The hash-chained access log, on SQLite and on the local PostgreSQL: tampering is found and named."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from typer.testing import CliRunner

from api.accesslog import LogWriter, append, new_entry, verify
from api.store import Store
from cli import app

KEY = b"k" * 32


def _entries(n: int, start: int = 0) -> list[dict]:
    return [new_entry(request_id=f"r{i}", client_id="abcdefghijkl", actor="department", subject_kind="person",
                      subject_id=f"P{i:09d}", purpose_id="jidou_teate", legal_basis="law", consent_id=None,
                      fields=["name", "address"], snapshot_id=7, outcome="disclosed") for i in range(start, start + n)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(None, tmp_path / "api.sqlite")
    else:
        s = Store(request.getfixturevalue("pg_database"))
    s.create_schema()
    yield s
    s.close()


def _filled(store: Store) -> Store:
    for batch in (_entries(3), _entries(4, 3), _entries(3, 7)):
        append(store, KEY, batch)
    assert verify(store, KEY).ok
    return store


def test_an_untouched_chain_verifies(store):
    _filled(store)
    result = verify(store, KEY)
    assert result.ok and result.entries == 10
    assert not verify(store, b"x" * 32).ok  # the chain is keyed: another key does not verify it


def test_an_edited_entry_is_named(store):
    _filled(store)
    store.execute("update access_log set purpose_id = 'kokuho_shikaku' where seq = 5")
    result = verify(store, KEY)
    assert (result.ok, result.problem, result.seq) == (False, "edited", 5)


def test_a_deleted_entry_is_named(store):
    _filled(store)
    store.execute("delete from access_log where seq = 4")
    result = verify(store, KEY)
    assert (result.ok, result.problem, result.seq) == (False, "deleted", 5)
    assert "between seq 3 and seq 5" in result.message


def test_an_inserted_entry_is_named(store):
    _filled(store)
    # a forger without the key: shift the later entries and slip a plausible entry in at seq 6
    store.execute("update access_log set seq = seq + 100 where seq >= 6")
    store.execute("update access_log set seq = seq - 99 where seq >= 106")
    row = store.one("select * from access_log where seq = 5")
    forged = list(row)
    forged[0] = 6
    forged[2] = "forged"
    forged[-2] = row[-1]  # links to entry 5 as a real successor would
    forged[-1] = "0" * 64
    store.execute(f"insert into access_log values ({', '.join('?' * len(forged))})", forged)
    result = verify(store, KEY)
    assert (result.ok, result.problem, result.seq) == (False, "inserted", 6)


def test_a_truncated_tail_is_found(store):
    _filled(store)
    store.execute("delete from access_log where seq >= 9")
    result = verify(store, KEY)
    assert (result.ok, result.problem) == (False, "truncated")


def test_group_commit_writer_keeps_one_chain_under_concurrency(store):
    writer = LogWriter(store, KEY)

    async def many():
        writer.start()
        seqs = await asyncio.gather(*(writer.write(e) for e in _entries(300)))
        await writer.stop()
        return seqs

    seqs = asyncio.run(many())
    assert sorted(seqs) == list(range(1, 301))
    assert verify(store, KEY).entries == 300


def test_a_request_is_answered_only_once_its_entry_is_synced_apart_from_the_commit(store, monkeypatch):
    """The API's writer commits on the event loop and fsyncs the WAL in a thread (a busy disk's fsync would
    otherwise hold up every request): a write returns only after a sync that covered its entry."""
    import sqlite3

    if store.is_postgres:
        assert store.for_log_writer().sync_commits  # the server makes each commit durable itself
        return
    log_store = store.for_log_writer()
    synced: list[int] = []
    real_sync = log_store.sync

    def sync() -> None:
        with sqlite3.connect(store.path) as other:  # what a reader sees as committed when the sync starts
            committed = other.execute("select coalesce(max(seq), 0) from access_log").fetchone()[0]
        real_sync()
        synced.append(committed)

    monkeypatch.setattr(log_store, "sync", sync)
    writer = LogWriter(log_store, KEY)

    async def one(entry: dict) -> int:
        seq = await writer.write(entry)
        assert synced and synced[-1] >= seq, (seq, synced[-3:])
        return seq

    async def many() -> list[int]:
        writer.start()
        seqs = await asyncio.gather(*(one(e) for e in _entries(200)))
        await writer.stop()
        return seqs

    assert sorted(asyncio.run(many())) == list(range(1, 201))
    assert 1 <= len(synced) < 200  # group commits: one sync per batch
    assert verify(store, KEY).entries == 200
    # the writer's connection leaves the sync to it (NORMAL); every other connection syncs its commits (FULL)
    assert log_store.con.execute("pragma synchronous").fetchone()[0] == 1
    assert store.con.execute("pragma synchronous").fetchone()[0] == 2
    log_store.close()


def test_two_writers_in_two_threads_share_one_chain(store, tmp_path):
    """Two API processes on one store: the chain head is read under the store's write lock."""
    other = Store(store.dsn, store.path)

    def run(s, start):
        for i in range(20):
            append(s, KEY, _entries(5, start + i * 5))

    threads = [threading.Thread(target=run, args=(s, n)) for s, n in ((store, 0), (other, 1000))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    result = verify(store, KEY)
    assert result.ok and result.entries == 200


def _cli_home(tmp_path, monkeypatch, entries: int) -> Store:
    """A home of the test's own with the API store holding ``entries`` entries under the home's log key."""
    monkeypatch.setenv("ONESOURCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ONESOURCE_CATALOG", "sqlite")  # the test cities' lakes keep the SQLite catalog
    monkeypatch.setenv("ONESOURCE_KEYS_DIR", str(tmp_path / "keys"))
    for name in ("ONESOURCE_API_STORE_DSN", "ONESOURCE_API_STORE_FILE", "ONESOURCE_CATALOG_DSN"):
        monkeypatch.delenv(name, raising=False)
    from api.accesslog import load_log_key

    s = Store(None, tmp_path / "home" / "api" / "api.sqlite")
    s.create_schema()
    append(s, load_log_key(), _entries(entries))
    return s


def test_verify_command_exit_codes(tmp_path, monkeypatch):
    s = _cli_home(tmp_path, monkeypatch, 6)
    runner = CliRunner()
    ok = runner.invoke(app, ["accesslog", "verify"])
    assert ok.exit_code == 0 and "6 entries verify" in ok.output
    s.execute("update access_log set fields = ? where seq = 2", (json.dumps(["name"]),))
    bad = runner.invoke(app, ["accesslog", "verify"])
    assert bad.exit_code == 1 and "seq 2 was edited" in bad.output
    s.close()


def test_a_renumbered_chain_is_named(store):
    _filled(store)
    store.execute("update access_log set seq = seq + 1000")
    store.execute("update access_log_head set seq = seq + 1000")
    result = verify(store, KEY)
    assert (result.ok, result.problem) == (False, "renumbered")


def _witness(store):
    from api.accesslog import checkpoint

    return checkpoint(store, KEY)


def _rows(store):
    return (store.execute("select * from access_log order by seq"), store.execute("select * from access_log_head"))


def _replace(store, rows, head):
    store.execute("delete from access_log")
    store.execute("delete from access_log_head")
    for r in rows:
        store.execute(f"insert into access_log values ({', '.join('?' * len(r))})", r)
    for h in head:
        store.execute("insert into access_log_head values (?, ?, ?, ?)", h)


def test_a_wipe_is_named_against_the_witness(store):
    _filled(store)
    w = _witness(store)
    assert w.seq == 10 and verify(store, KEY, [w]).ok
    _replace(store, [], [])  # every entry and the head gone
    assert verify(store, KEY).ok  # the chain alone cannot tell
    result = verify(store, KEY, [w])
    assert (result.ok, result.problem, result.seq) == (False, "wiped", 10)


def test_a_restored_older_copy_is_named_against_the_witness(store):
    append(store, KEY, _entries(5))
    backup = _rows(store)
    append(store, KEY, _entries(5, 5))
    w = _witness(store)
    _replace(store, *backup)  # the store as an older backup had it
    assert verify(store, KEY).ok
    result = verify(store, KEY, [w])
    assert (result.ok, result.problem) == (False, "rolled_back") and "ends at seq 5" in result.message


def test_a_chain_rebuilt_with_the_key_is_named_against_the_witness(store):
    _filled(store)
    w = _witness(store)
    _replace(store, [], [])
    append(store, KEY, _entries(12, 500))  # someone holding the key writes a new, longer chain
    assert verify(store, KEY).ok
    result = verify(store, KEY, [w])
    assert (result.ok, result.problem, result.seq) == (False, "rewritten", 10)
    forged = type(w)(w.chain, w.seq, "f" * 64, w.at, w.mac)  # and a witness cannot be edited to match
    assert verify(store, KEY, [forged]).problem == "witness"


def test_checkpoint_witnesses_into_the_lake_and_verify_reads_it_or_the_published_file(tmp_path, monkeypatch):
    from api.accesslog import known_witnesses
    from core.settings import get_settings
    from core.witness import PUBLISHED_HEADER, published_rows

    s = _cli_home(tmp_path, monkeypatch, 6)
    runner = CliRunner()
    done = runner.invoke(app, ["accesslog", "checkpoint"])
    assert done.exit_code == 0 and "at seq 6" in done.output, done.output
    ok = runner.invoke(app, ["accesslog", "verify"])
    assert ok.exit_code == 0 and "matches 1 witness" in ok.output
    # the published file, as the open data carries it
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows([PUBLISHED_HEADER, *published_rows(known_witnesses(get_settings()))])
    published = tmp_path / "122033_access_log_witness.csv"
    published.write_text("\ufeff" + out.getvalue(), encoding="utf-8")
    _replace(s, [], [])
    wiped = runner.invoke(app, ["accesslog", "verify"])
    assert wiped.exit_code == 1 and "wiped" in wiped.output
    refused = runner.invoke(app, ["accesslog", "checkpoint"])
    assert refused.exit_code == 1 and "not witnessed" in refused.output  # a witness never blesses a wiped log
    # the lake lost too: the published file still tells
    import shutil

    shutil.rmtree(tmp_path / "home" / "lake")
    alone = runner.invoke(app, ["accesslog", "verify", "--witness", str(published)])
    assert alone.exit_code == 1 and "wiped" in alone.output
    s.close()


@pytest.mark.parametrize("how", ["delete", "drop"])
def test_a_witness_removed_from_the_lake_is_named_and_still_counts(tmp_path, monkeypatch, how):
    """Deleting the witnesses and emptying the store made verify say "no witness yet" and exit 0: it read only
    what the table holds now. It reads the table's history: the removed witness still holds the store to
    account (a wipe), and the removal is named, even where the store is intact."""
    from core import lake

    s = _cli_home(tmp_path, monkeypatch, 6)
    runner = CliRunner()
    assert runner.invoke(app, ["accesslog", "checkpoint"]).exit_code == 0
    con = lake.connect()
    try:
        con.execute("DELETE FROM lake.ops.witnesses" if how == "delete" else "DROP TABLE lake.ops.witnesses")
    finally:
        con.close()
    intact = runner.invoke(app, ["accesslog", "verify"])
    assert intact.exit_code == 1 and "removed from lake.ops.witnesses" in intact.output and "seq 6" in intact.output, \
        intact.output
    _replace(s, [], [])
    wiped = runner.invoke(app, ["accesslog", "verify"])
    assert wiped.exit_code == 1 and "wiped" in wiped.output and "removed from lake.ops.witnesses" in wiped.output, \
        wiped.output
    refused = runner.invoke(app, ["accesslog", "checkpoint"])
    assert refused.exit_code == 1 and "not witnessed" in refused.output
    s.close()


def test_verify_only_reads_it_creates_no_store(tmp_path, monkeypatch):
    s = _cli_home(tmp_path, monkeypatch, 0)
    s.close()
    path = tmp_path / "home" / "api" / "api.sqlite"
    for p in path.parent.iterdir():
        p.unlink()
    done = CliRunner().invoke(app, ["accesslog", "verify"])
    assert done.exit_code == 0 and "empty" in done.output, done.output
    assert not path.exists() and not list(path.parent.iterdir())  # nothing was created to be verified
