"""What the API reads from the lake: the marts of one release, pinned to its snapshot.

A watcher thread looks for a newer release (``ops.releases``) through a read-only lake connection,
reads the marts the API serves ``AT (VERSION => snapshot)`` into Arrow, indexes them by their keys
and swaps the new :class:`Served` in with one reference assignment. A request takes that reference
once and reads only from it, so every answer is consistent with exactly one snapshot, and a refresh
writing new snapshots meanwhile never shows half-built marts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core import lake
from core.clock import JST
from core.lake import LAKE_ALIAS as L
from core.releases import Release, latest_release
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

# table -> (columns, where) read at the release's snapshot
QUERIES: dict[str, tuple[str, str]] = {
    "dim_person": ("person_id, name, name_kana, birth_date, birth_date_precision, sex, postal_code, address, katagaki, "
                   "town, status, household_id, relation_to_head", ""),
    "mart_resident_tax_by_person": ("person_id, fiscal_year, total_income_yen, income_levy_yen, per_capita_levy_yen, "
                                    "total_levy_yen, taxation, dependants", ""),
    "mart_kokuho_enrolment": ("person_id, hihokensha_bango, enrolled_on, left_on, leaving_reason, is_enrolled", ""),
    "dim_business": ("business_id, houjin_bango, name, legal_form, address_key as address, corporation_kind_code, "
                     "closed_on, located_in_city", ""),
    "mart_contracts_by_business": ("business_id, contracts, contract_amount_yen, first_contract_on, last_contract_on, "
                                   "bids, winning_bids", ""),
    "mart_subsidies_by_applicant": ("applicant_id as business_id, programme_code, programme_name, applications, "
                                    "amount_requested_yen, granted, pending, first_applied_at, last_applied_at",
                                    "where applicant_kind = 'hojin'"),
}

# columns a release built before they were added does not have: read as nulls from such a snapshot
ADDED_LATER: dict[str, tuple[str, ...]] = {"dim_person": ("postal_code",)}


def _sorted_keys(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The non-null keys of ``column`` as a sorted fixed-width byte array, and each one's row position.

    Built by Arrow and numpy kernels, without one Python object per row: the watcher thread that builds it
    holds the interpreter lock only for moments, so requests keep being answered while a release loads.
    Keys are padded with NUL bytes, which keeps their byte order (a prefix sorts first).
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    valid = pc.is_valid(arr)
    rows = np.flatnonzero(valid.to_numpy(zero_copy_only=False))
    arr = arr.filter(valid)
    width = max(1, pc.max(pc.binary_length(arr)).as_py() or 0)
    fixed = pc.ascii_rpad(arr, width=width, padding="\0").cast(pa.binary()).cast(pa.binary(width))
    keys = np.frombuffer(fixed.buffers()[1], dtype=f"S{width}", count=len(fixed), offset=fixed.offset * width) \
        if len(fixed) else np.empty(0, dtype=f"S{width}")
    order = np.argsort(keys, kind="stable")  # stable: a key's rows keep the table's order
    return keys[order], rows[order]


class Rows:
    """One table's rows, found by a key column (a key may have several rows)."""

    def __init__(self, table: pa.Table, key: str) -> None:
        self.names = [n for n in table.column_names if n != key]
        self._cols = [table.column(n).combine_chunks() for n in self.names]
        self._keys, self._rows = _sorted_keys(table.column(key))
        self._width = self._keys.dtype.itemsize
        self.count = table.num_rows

    def _span(self, key: Any) -> tuple[int, int]:
        if key is None:
            return 0, 0
        raw = str(key).encode("utf-8", "surrogatepass")
        if len(raw) > self._width or raw.endswith(b"\0"):  # cannot be a key: never let numpy truncate it to one
            return 0, 0
        return (int(np.searchsorted(self._keys, raw, "left")), int(np.searchsorted(self._keys, raw, "right")))

    def __contains__(self, key: Any) -> bool:
        lo, hi = self._span(key)
        return hi > lo

    def positions(self, key: Any) -> list[int]:
        lo, hi = self._span(key)
        return self._rows[lo:hi].tolist()

    def row(self, pos: int, columns: list[str] | None = None) -> dict[str, Any]:
        if columns is None:
            return {n: c[pos].as_py() for n, c in zip(self.names, self._cols)}
        return {n: self._cols[self.names.index(n)][pos].as_py() for n in columns}

    def all(self, key: Any, columns: list[str] | None = None) -> list[dict[str, Any]]:
        return [self.row(p, columns) for p in self.positions(key)]

    def first(self, key: Any, columns: list[str] | None = None) -> dict[str, Any] | None:
        pos = self.positions(key)
        return self.row(pos[0], columns) if pos else None


@dataclass
class Served:
    """The marts of one release, indexed for point lookups. Never mutated once built."""

    release: Release
    as_of: dt.date
    persons: Rows
    households: Rows
    tax: Rows
    kokuho: Rows
    businesses: Rows
    businesses_by_houjin: Rows
    contracts: Rows
    subsidies: Rows
    tax_year: int | None
    loaded_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def snapshot_id(self) -> int:
        return self.release.snapshot_id

    def status_of(self, person_id: str) -> str | None:
        """The person's registry status in this release (resident, moved_out...), None when unknown."""
        found = self.persons.first(person_id, ["status"])
        return found["status"] if found else None


def person_status(con: duckdb.DuckDBPyConnection, person_id: str) -> str | None:
    """The status of ``person_id`` in the newest release (None: no release, or no such person)."""
    release = latest_release(con)
    if release is None:
        return None
    row = con.execute(f"select status from {L}.marts.dim_person at (version => {int(release.snapshot_id)}) "
                      "where person_id = ? limit 1", [person_id]).fetchone()
    return row[0] if row else None


def sample_residents(con: duckdb.DuckDBPyConnection, count: int, with_children: bool = False) -> list[dict] | None:
    """Residents of the newest release to try the API with: id, town, household size and children under 18
    (None when nothing is released). Ordered by person id, so the same lake gives the same list."""
    release = latest_release(con)
    if release is None:
        return None
    at = f"at (version => {int(release.snapshot_id)})"
    return lake.dict_rows(con.execute(
        f"with households as (select household_id, count(*) as members, count(*) filter (where birth_date > "
        f"current_date - interval 18 year) as children from {L}.marts.dim_person {at} where status = 'resident' "
        f"group by all) select p.person_id, p.town, h.members, h.children from {L}.marts.dim_person as p {at} "
        "join households as h using (household_id) "
        "where p.status = 'resident' and (not ? or h.children > 0) and p.birth_date <= current_date - interval 18 year "
        "order by p.person_id limit ?", [with_children, count]))


def _read(con: duckdb.DuckDBPyConnection, table: str, snapshot_id: int) -> pa.Table:
    columns, where = QUERIES[table]
    schema = "marts"
    at = f"{L}.{schema}.{table} at (version => {int(snapshot_id)})"
    try:
        later = ADDED_LATER.get(table, ())
        if later:
            present = {r[0] for r in con.execute(f"select column_name from (describe select * from {at})").fetchall()}
            columns = ", ".join(c if c.strip() in present or c.strip() not in later else f"null::varchar as {c.strip()}"
                                for c in columns.split(","))
        return con.execute(f"select {columns} from {at} {where}").to_arrow_table()
    except duckdb.CatalogException:
        log.warning("release snapshot %s has no %s.%s; serving it empty", snapshot_id, schema, table)
        names = [c.split(" as ")[-1].strip() for c in columns.split(",")]
        return pa.table({n: pa.array([], type=pa.string()) for n in names})


def load_release(con: duckdb.DuckDBPyConnection, release: Release) -> Served:
    started = time.perf_counter()
    t = {name: _read(con, name, release.snapshot_id) for name in QUERIES}
    tax = t["mart_resident_tax_by_person"]
    newest_year = pc.max(tax.column("fiscal_year")).as_py() if tax.num_rows else None
    served = Served(
        release=release,
        as_of=release.released_at.astimezone(JST).date(),
        persons=Rows(t["dim_person"], "person_id"),
        households=Rows(t["dim_person"].select(["household_id", "person_id", "name", "birth_date",
                                                "relation_to_head"]), "household_id"),
        tax=Rows(tax, "person_id"),
        kokuho=Rows(t["mart_kokuho_enrolment"], "person_id"),
        businesses=Rows(t["dim_business"], "business_id"),
        businesses_by_houjin=Rows(t["dim_business"], "houjin_bango"),
        contracts=Rows(t["mart_contracts_by_business"], "business_id"),
        subsidies=Rows(t["mart_subsidies_by_applicant"], "business_id"),
        tax_year=newest_year,
        counts={k: v.num_rows for k, v in t.items()},
    )
    served.loaded_seconds = time.perf_counter() - started
    return served


class ReleaseWatcher:
    """Keeps :attr:`current` at the newest release, polling the lake through a read-only connection."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.current: Served | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._seen_snapshot: int | None = None
        self._problem: str | None = None  # what the last look could not read: said once, not at every poll

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.settings.catalog_dsn is not None and self.settings.api_catalog_dsn is None:
                log.warning("the API reads the lake as the catalog's owner: set ONESOURCE_API_CATALOG_DSN to the "
                            "api_service role (onesource access credentials issue api_service)")
            self._con = lake.connect(self.settings.as_api_reader(), read_only=True)
        return self._con

    def refresh(self) -> bool:
        """Load the newest release if it is not the one served; True when it swapped."""
        try:
            con = self._connection()
            snapshot = con.execute(f"select id from {L}.current_snapshot()").fetchone()[0]
            if snapshot == self._seen_snapshot:  # nothing was committed since the last look: the cheap path
                return False
            release = latest_release(con)
            self._seen_snapshot = snapshot
        except duckdb.Error as exc:
            if str(exc) != self._problem:
                log.warning("could not read the lake's releases (said once until it changes; the API looks "
                            "again every %g s): %s", self.settings.api_release_poll_seconds, exc)
                self._problem = str(exc)
            self._drop()
            return False
        if self._problem is not None:
            log.info("the lake's releases can be read again")
            self._problem = None
        if release is None or (self.current and self.current.release.release_id == release.release_id):
            return False
        served = load_release(con, release)
        self.current = served  # one reference assignment: requests see the old or the new, never a mix
        log.info("serving release %s (snapshot %s, %s persons) loaded in %.1f s", release.release_id,
                 release.snapshot_id, served.persons.count, served.loaded_seconds)
        return True

    def _drop(self) -> None:
        self._seen_snapshot = None
        if self._con is not None:
            try:
                self._con.close()
            finally:
                self._con = None

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="release-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.api_release_poll_seconds):
            try:
                self.refresh()
            except Exception:
                log.exception("loading a new release failed; still serving the previous one")
                self._drop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._drop()
