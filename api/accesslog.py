"""The access log: append-only, hash-chained, written durably before a response leaves.

Each entry holds ``prev_hash`` (the hash of the entry before it) and its own ``hash``, an HMAC-SHA256
under the log key over its sequence number, ``prev_hash`` and the entry's canonical JSON. Without the key
nobody can write an entry that verifies, so an edit, an insertion, a deletion or a renumbering shows as the
first entry whose MAC, link or number fails. A head row (the count, which is the last seq, and the last
hash, itself MACed) catches a truncated tail.

What the chain cannot show by itself is a wipe of the whole store, a restore of an older backup, or a chain
rebuilt by someone who holds the key: for those, :func:`checkpoint` writes the head into a **witness** kept
in the lake and published with the open data (``core.witness``), and :func:`verify` compares the
store with every witness.

Appends go through one writer that commits whatever accumulated since its last commit in one
transaction (group commit): each request awaits its own entry's commit, and a burst of requests
shares one fsync. The chain head is read under the store's write lock in the
same transaction, so several API processes can append to one chain.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from api.store import Store, now_utc
from core.keys import load_or_create_key
from core.settings import Settings, get_settings
from core.witness import Witness

log = logging.getLogger(__name__)

GENESIS = "0" * 64
CHAIN = "api_access_log"
KEY_FILE = "access_log.key"
# columns of an entry covered by its hash, with its seq
CONTENT = ("at", "request_id", "client_id", "actor", "subject_kind", "subject_id", "purpose_id", "legal_basis",
           "consent_id", "fields", "snapshot_id", "outcome")
COLUMNS = ("seq", *CONTENT, "prev_hash", "hash")


def load_log_key(settings: Settings | None = None) -> bytes:
    settings = settings or get_settings()
    return load_or_create_key(settings, settings.api_log_key, "ONESOURCE_API_LOG_KEY", KEY_FILE)


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps({k: entry.get(k) for k in CONTENT}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def entry_hash(key: bytes, seq: int, prev_hash: str, entry: dict[str, Any]) -> str:
    return hmac.new(key, f"v2\n{int(seq)}\n{prev_hash}\n".encode() + canonical(entry), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    return hmac.new(key, f"head\n{seq}\n{last_hash}".encode(), hashlib.sha256).hexdigest()


def new_entry(*, request_id: str, client_id: str, actor: str, subject_kind: str, subject_id: str | None,
              purpose_id: str | None, legal_basis: str | None, consent_id: str | None, fields: list[str],
              snapshot_id: int | None, outcome: str) -> dict[str, Any]:
    return {"at": now_utc(), "request_id": request_id, "client_id": client_id, "actor": actor,
            "subject_kind": subject_kind, "subject_id": subject_id, "purpose_id": purpose_id,
            "legal_basis": legal_basis, "consent_id": consent_id, "fields": json.dumps(sorted(fields)),
            "snapshot_id": snapshot_id, "outcome": outcome}


def append(store: Store, key: bytes, entries: list[dict[str, Any]]) -> list[int]:
    """Append entries in one transaction; returns their seq numbers once committed (durable)."""
    with store.transaction(lock_log=True):
        head = store.one("select seq, hash from access_log_head where id = 1")
        seq, prev = head if head else (0, GENESIS)
        rows, seqs = [], []
        for entry in entries:
            seq += 1
            h = entry_hash(key, seq, prev, entry)
            rows.append((seq, *(entry.get(k) for k in CONTENT), prev, h))
            seqs.append(seq)
            prev = h
        marks = ", ".join("?" * len(COLUMNS))
        store.executemany(f"insert into access_log ({', '.join(COLUMNS)}) values ({marks})", rows)
        mac = head_mac(key, seq, prev)
        if head:
            store.execute("update access_log_head set seq = ?, hash = ?, mac = ? where id = 1", (seq, prev, mac))
        else:
            store.execute("insert into access_log_head (id, seq, hash, mac) values (1, ?, ?, ?)", (seq, prev, mac))
    return seqs


class LogWriter:
    """Appends to the chain from the event loop, one transaction per batch of waiting entries.

    The commit runs in the loop's own thread on purpose: a separate writer thread fights the request
    handlers for the GIL at every statement, and each handover can stall a request for a whole switch
    interval. The fsync that makes the batch durable is the exception: on a disk that another process
    keeps busy (a refresh writing the lake) it can take 100 ms, so a store that syncs apart from its commits
    (:meth:`Store.for_log_writer`) is synced in a thread of its own, one handover per batch, while the loop
    answers other requests; the batch's requests are answered only after it.
    """

    MAX_BATCH = 1000

    def __init__(self, store: Store, key: bytes) -> None:
        self.store = store
        self.key = key
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._syncer = None if store.sync_commits else \
            concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="access-log-fsync")

    def start(self) -> None:
        """Start in the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="access-log-writer")

    async def stop(self) -> None:
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        if self._syncer is not None:
            self._syncer.shutdown()

    async def write(self, entry: dict[str, Any]) -> int:
        """Queue an entry and wait until it is committed; returns its seq."""
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, fut))
        return await fut

    async def _run(self) -> None:
        queue_ = self._queue
        while True:
            item = await queue_.get()
            if item is None:
                return
            await asyncio.sleep(0)  # let the handlers that are ready queue their entries too
            batch, stopping = [item], False
            while len(batch) < self.MAX_BATCH and not queue_.empty():
                nxt = queue_.get_nowait()
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            try:
                seqs = append(self.store, self.key, [e for e, _ in batch])
                if self._syncer is not None:
                    await asyncio.get_running_loop().run_in_executor(self._syncer, self.store.sync)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error (it answers 503)
                log.error("access log append failed: %s", type(exc).__name__)
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
            else:
                for (_, fut), seq in zip(batch, seqs):
                    if not fut.done():
                        fut.set_result(seq)
            if stopping:
                return


@dataclass
class Verification:
    ok: bool
    entries: int
    problem: str | None = None  # edited | inserted | deleted | renumbered | truncated | head | wiped | rolled_back
    seq: int | None = None  # | rewritten | witness | witness_removed
    message: str = ""
    witnessed: int = 0  # witnesses the store was compared with


def witness_mac(key: bytes, chain: str, seq: int, head_hash: str, at: dt.datetime) -> str:
    stamp = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return hmac.new(key, f"witness\n{chain}\n{int(seq)}\n{head_hash}\n{stamp}".encode(), hashlib.sha256).hexdigest()


def _chain(store: Store, key: bytes) -> tuple[Verification, list[dict]]:
    """The chain on its own: every MAC, link and number, and the head."""
    rows = store.execute(f"select {', '.join(COLUMNS)} from access_log order by seq")
    entries = [dict(zip(COLUMNS, r)) for r in rows]
    n = len(entries)
    expected_prev, prev_seq = GENESIS, 0
    for i, e in enumerate(entries):
        nxt = entries[i + 1] if i + 1 < n else None
        if e["prev_hash"] == expected_prev and e["seq"] != prev_seq + 1:
            return Verification(False, n, "renumbered", e["seq"],
                                f"entry seq {e['seq']} follows seq {prev_seq}: the entries were renumbered"), entries
        if not hmac.compare_digest(entry_hash(key, e["seq"], e["prev_hash"], e), e["hash"]):
            head = store.one("select hash from access_log_head where id = 1")
            links_past = (nxt["prev_hash"] == expected_prev) if nxt else (head is not None and head[0] == expected_prev)
            if links_past or e["prev_hash"] != expected_prev:
                return Verification(False, n, "inserted", e["seq"],
                                    f"entry seq {e['seq']} was inserted: it does not verify and the chain "
                                    f"runs past it from seq {prev_seq}"), entries
            return Verification(False, n, "edited", e["seq"],
                                f"entry seq {e['seq']} was edited: its content no longer matches its hash"), entries
        if e["prev_hash"] != expected_prev:
            return Verification(False, n, "deleted", e["seq"],
                                f"an entry was deleted between seq {prev_seq} and seq {e['seq']}: "
                                f"seq {e['seq']} does not link to the entry before it"), entries
        expected_prev, prev_seq = e["hash"], e["seq"]
    head = store.one("select seq, hash, mac from access_log_head where id = 1")
    if head is None:
        if entries:
            return Verification(False, n, "head", None, "the chain head is missing"), entries
        return Verification(True, 0, message="the access log is empty"), entries
    seq, last, mac = head
    if not hmac.compare_digest(head_mac(key, seq, last), mac):
        return Verification(False, n, "head", seq, "the chain head was edited"), entries
    if last != expected_prev or seq != n:
        return Verification(False, n, "truncated", prev_seq + 1,
                            f"entries after seq {prev_seq} were deleted (the head records seq {seq})"), entries
    return Verification(True, n, message=f"{n} entries verify, head seq {seq}"), entries


def verify(store: Store, key: bytes, witnesses: list[Witness] | tuple = (), removed: list | tuple = ()
           ) -> Verification:
    """Walk the chain from the start and report the first entry that was edited, inserted, deleted or
    renumbered; then hold the store against every witness: a store with fewer entries than a witness
    recorded was wiped or rolled back, and one whose entry at a witnessed seq differs was rebuilt. A witness
    removed from the lake (``removed``: ``core.witness.Removal``) is named as well: nothing removes one but
    tampering."""
    result = _verify(store, key, witnesses)
    if removed:
        gone = sorted(removed, key=lambda r: r.snapshot)
        first = gone[0]
        when = first.witness.at.astimezone(dt.UTC).isoformat(timespec="seconds")
        said = (f"{len(gone)} witness(es) were removed from lake.ops.witnesses, the first (of {when}, seq "
                f"{first.witness.seq}) by lake snapshot {first.snapshot}"
                + (f" at {first.at.astimezone(dt.UTC).isoformat(timespec='seconds')}" if first.at else "")
                + ": the store is held against them all the same")
        result = Verification(False, result.entries, result.problem if not result.ok else "witness_removed",
                              result.seq if not result.ok else first.witness.seq,
                              f"{result.message}; {said}" if not result.ok else said, result.witnessed)
    return result


def _verify(store: Store, key: bytes, witnesses: list[Witness] | tuple = ()) -> Verification:
    result, entries = _chain(store, key)
    if not result.ok and result.problem != "head":
        return result
    hashes = {e["seq"]: e["hash"] for e in entries}
    n = len(entries)
    for w in sorted(witnesses, key=lambda w: (w.at, w.seq)):
        when = w.at.astimezone(dt.UTC).isoformat(timespec="seconds")
        if not hmac.compare_digest(witness_mac(key, w.chain, w.seq, w.head_hash, w.at), w.mac):
            return Verification(False, n, "witness", w.seq, f"the witness of {when} does not verify under the "
                                "log key (forged, or the key was replaced)", len(witnesses))
        if n == 0 and w.seq > 0:
            return Verification(False, 0, "wiped", w.seq, f"the store holds no entry, but the witness of {when} "
                                f"records {w.seq}: the access log was wiped", len(witnesses))
        if n < w.seq:
            return Verification(False, n, "rolled_back", w.seq, f"the store ends at seq {n}, but the witness of "
                                f"{when} records {w.seq} entries: the store was rolled back to an older copy or "
                                "its tail removed", len(witnesses))
        if w.seq and not hmac.compare_digest(hashes.get(w.seq, ""), w.head_hash):
            return Verification(False, n, "rewritten", w.seq, f"entry seq {w.seq} is not the one the witness of "
                                f"{when} recorded: the chain was rebuilt", len(witnesses))
    if not result.ok:
        return result
    if witnesses:
        newest = max(witnesses, key=lambda w: (w.at, w.seq))
        result.message += (f"; matches {len(witnesses)} witness(es), the newest of "
                           f"{newest.at.astimezone(dt.UTC).isoformat(timespec='seconds')} at seq {newest.seq}")
    else:
        result.message += "; no witness yet: a wipe or a rollback of the whole store cannot be ruled out"
    result.witnessed = len(witnesses)
    return result


def checkpoint(store: Store, key: bytes, witnesses: list[Witness] | tuple = (), removed: list | tuple = ()
               ) -> Witness:
    """A witness of the chain's head now, once the chain verifies against the earlier witnesses (a witness
    must never bless a tampered chain). The caller records it (``core.witness.record``)."""
    result = verify(store, key, witnesses, removed)
    if not result.ok:
        raise ValueError(f"the access log does not verify, so it is not witnessed: {result.message}")
    head = store.one("select seq, hash from access_log_head where id = 1")
    seq, last = head if head else (0, GENESIS)
    at = dt.datetime.now(dt.UTC)
    return Witness(CHAIN, int(seq), last, at, witness_mac(key, CHAIN, int(seq), last, at))


def known_witnesses(settings: Settings, published: bytes | None = None) -> list[Witness]:
    """The access log's witnesses: every one the lake keeps (``ops.witnesses``) and, if given, those of a
    published witness file (open data), without duplicates."""
    from core import lake
    from core.witness import ever, parse_published

    found = [w for w in parse_published(published) if w.chain == CHAIN] if published is not None else []
    if settings.catalog_dsn is not None or settings.catalog_path.exists():
        con = lake.connect(settings, read_only=True)
        try:
            found += ever(con, CHAIN)  # the table's whole history: a witness deleted since still counts
        finally:
            con.close()
    return list({(w.seq, w.head_hash, w.at, w.mac): w for w in found}.values())


def removed_witnesses(settings: Settings) -> list:
    """Witnesses of the access log deleted from the lake (or dropped with their table): ``core.witness.Removal``."""
    from core import lake
    from core.witness import removed

    if settings.catalog_dsn is None and not settings.catalog_path.exists():
        return []
    con = lake.connect(settings, read_only=True)
    try:
        return removed(con, CHAIN)
    finally:
        con.close()


def witness_now(settings: Settings | None = None) -> Witness:
    """Verify the access log against its witnesses, then witness its head into the lake (what
    ``onesource accesslog checkpoint`` and the daily Dagster schedule run). Raises ValueError when the log
    does not verify."""
    from core import lake
    from core.witness import record

    settings = settings or get_settings()
    store = Store.from_settings(settings)
    store.create_schema()
    try:
        w = checkpoint(store, load_log_key(settings), known_witnesses(settings), removed_witnesses(settings))
    finally:
        store.close()
    con = lake.connect(settings)
    try:
        record(con, w)
    finally:
        con.close()
    return w
