"""The access log: append-only, hash-chained, written durably before a response leaves.

Each entry holds ``prev_hash`` (the hash of the entry before it) and its own ``hash``, an HMAC-SHA256
under the log key over ``prev_hash`` and the entry's canonical JSON. Without the key nobody can write
an entry that verifies, so an edit, an insertion or a deletion shows as the first entry whose MAC or
link fails. A head row (last seq and hash, itself MACed) catches a truncated tail.

Appends go through one writer that commits whatever accumulated since its last commit in one
transaction (group commit): each request awaits its own entry's commit, and a burst of requests
shares one fsync. The chain head is read under the store's write lock in the
same transaction, so several API processes can append to one chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from api.store import Store, now_utc
from onesource.core.keys import load_or_create_key
from onesource.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

GENESIS = "0" * 64
KEY_FILE = "access_log.key"
# columns of an entry covered by its hash (seq is only the storage order; the chain carries the order)
CONTENT = ("at", "request_id", "client_id", "actor", "subject_kind", "subject_id", "purpose_id", "legal_basis",
           "consent_id", "fields", "snapshot_id", "outcome")
COLUMNS = ("seq", *CONTENT, "prev_hash", "hash")


def load_log_key(settings: Settings | None = None) -> bytes:
    settings = settings or get_settings()
    return load_or_create_key(settings, settings.api_log_key, "ONESOURCE_API_LOG_KEY", KEY_FILE)


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps({k: entry.get(k) for k in CONTENT}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


def entry_hash(key: bytes, prev_hash: str, entry: dict[str, Any]) -> str:
    return hmac.new(key, prev_hash.encode() + b"\n" + canonical(entry), hashlib.sha256).hexdigest()


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
            h = entry_hash(key, prev, entry)
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

    It runs in the loop's own thread on purpose: a separate writer thread fights the request handlers
    for the GIL, and each handover can stall a request for a whole switch interval. The commit itself
    is short (one WAL fsync), so holding the loop for it costs less than that handover.
    """

    MAX_BATCH = 1000

    def __init__(self, store: Store, key: bytes) -> None:
        self.store = store
        self.key = key
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start in the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="access-log-writer")

    async def stop(self) -> None:
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None

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
    problem: str | None = None  # edited | inserted | deleted | truncated | head
    seq: int | None = None
    message: str = ""


def verify(store: Store, key: bytes) -> Verification:
    """Walk the chain from the start; report the first entry that was edited, inserted or deleted."""
    rows = store.execute(f"select {', '.join(COLUMNS)} from access_log order by seq")
    entries = [dict(zip(COLUMNS, r)) for r in rows]
    expected_prev, prev_seq = GENESIS, 0
    for i, e in enumerate(entries):
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        if not hmac.compare_digest(entry_hash(key, e["prev_hash"], e), e["hash"]):
            head = store.one("select hash from access_log_head where id = 1")
            links_past = (nxt["prev_hash"] == expected_prev) if nxt else (head is not None and head[0] == expected_prev)
            if links_past or e["prev_hash"] != expected_prev:
                return Verification(False, len(entries), "inserted", e["seq"],
                                    f"entry seq {e['seq']} was inserted: it does not verify and the chain "
                                    f"runs past it from seq {prev_seq}")
            return Verification(False, len(entries), "edited", e["seq"],
                                f"entry seq {e['seq']} was edited: its content no longer matches its hash")
        if e["prev_hash"] != expected_prev:
            return Verification(False, len(entries), "deleted", e["seq"],
                                f"an entry was deleted between seq {prev_seq} and seq {e['seq']}: "
                                f"seq {e['seq']} does not link to the entry before it")
        expected_prev, prev_seq = e["hash"], e["seq"]
    head = store.one("select seq, hash, mac from access_log_head where id = 1")
    if head is None:
        if entries:
            return Verification(False, len(entries), "head", None, "the chain head is missing")
        return Verification(True, 0, message="the access log is empty")
    seq, last, mac = head
    if not hmac.compare_digest(head_mac(key, seq, last), mac):
        return Verification(False, len(entries), "head", seq, "the chain head was edited")
    if last != expected_prev:
        return Verification(False, len(entries), "truncated", prev_seq + 1,
                            f"entries after seq {prev_seq} were deleted (the head records seq {seq})")
    return Verification(True, len(entries), message=f"{len(entries)} entries verify, head seq {seq}")
