"""Load closed deliveries into the lake's bronze layer, atomically and idempotently.

One delivery (a ``<system>/<YYYYMMDD>`` folder with ``_SUCCESS``, or one read of
the contract database) is one lake transaction: its bronze rows, quarantined
rows, field issues, load ledger, schema-drift notes and expectation results
commit together or not at all. A delivery already in ``ops.deliveries`` is not
read again; a file byte-identical to one already loaded under the same name
is recorded as a re-send and skipped. Per file: rows read = rows loaded +
rows quarantined, checked before the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import duckdb

from core import clock, lake
from core.faults import kill_point
from core.masking import mask_my_numbers
from core.settings import Settings, get_settings
from ingestion import ledger, watermarks
from ingestion.batch import Batch, sha256_file
from ingestion.connectors import DeliveryError, database, reader_for
from ingestion.contracts import Contract, contracts
from ingestion.reports import DeliveryResult, FileResult, IngestReport
from ingestion.tokens import Tokenizer, load_key

log = logging.getLogger(__name__)
DELIVERY_DIR = re.compile(r"^\d{8}$")
SUCCESS = "_SUCCESS"


def table_orders(contract: Contract) -> str | None:
    """What orders the versions of a record in this system's tables (the contract's ``latestBy``), as words."""
    by = sorted({c for t in contract.tables for c in (t.options.get("latestBy") or [])})
    return f"change time ({', '.join(by)})" if by else None


def printable(name: str) -> str:
    """A file or folder name as it can be shown, logged and stored: bytes that are not UTF-8 (a name the file
    system holds as surrogate escapes) as ``\\xNN``. Such a name stopped the whole run when it reached the lake."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _outside(path: Path, landing: Path) -> str | None:
    """Why ``path`` may not be read as part of the landing zone: a symbolic link, or a real path outside
    the landing zone's own (the landing zone is not a way to read the machine)."""
    if path.is_symlink():
        return "a symbolic link: refused (deliveries are plain files)"
    try:
        path.resolve(strict=True).relative_to(landing.resolve(strict=True))
    except (ValueError, OSError):
        return "outside the landing zone: refused"
    return None


class Ingestor:
    """Loads deliveries for every contract into one lake connection."""

    def __init__(self, settings: Settings | None = None, con: duckdb.DuckDBPyConnection | None = None,
                 run_expectations: bool = True, on_delivery: Callable[[DeliveryResult], None] | None = None) -> None:
        self.settings = settings or get_settings()
        self.con = con or lake.connect(self.settings)
        self.contracts = contracts()
        with lake.exclusive(self.settings, "ddl"):  # two first runs on a new catalog: one creates, one sees
            ledger.ensure_tables(self.con, self.contracts.values())
        self.tokenizer = Tokenizer(load_key(self.settings))
        self.run_expectations = run_expectations
        self.on_delivery = on_delivery or (lambda d: None)

    # -- discovery ---------------------------------------------------------------------------
    def ingest(self, landing: Path, systems: list[str] | None = None) -> IngestReport:
        report = IngestReport()
        for system, contract in self.contracts.items():
            if systems and system not in systems:
                continue
            if contract.connector == "database":
                with lake.exclusive(self.settings, f"delivery:{system}"):
                    results = [self._database(contract, landing)]
            else:
                results = self._file_system(contract, landing)
            for res in results:
                if res is not None:
                    res.seconds = round(time.perf_counter() - res.started, 3) if res.started else 0.0
                    report.deliveries.append(res)
                    self.on_delivery(res)
        return report

    def ingest_days(self, landing: Path, system: str, days: list[str]) -> list[DeliveryResult]:
        """Load these delivery days of one system (a partition range), in date order.

        A day without a folder had no delivery; a day already loaded is skipped; a folder without
        ``_SUCCESS`` is reported as waiting. The contract database has no days: it is read by watermark.
        """
        contract = self.contracts[system]
        if contract.connector == "database":
            with lake.exclusive(self.settings, f"delivery:{system}"):
                res = self._database(contract, landing)
            return [res] if res is not None else []
        done = ledger.finished_deliveries(self.con, system)
        out = self._changed_after_load(contract, landing, set(days) & done)
        for day in sorted(days):
            folder = landing / system / day
            if not folder.is_dir() or day in done:
                continue
            refused = self._refused(folder, landing)
            if refused:
                out.append(self._failed(DeliveryResult(system, day, "failed"), DeliveryError(f"{system}/{day}", refused)))
                continue
            if not (folder / SUCCESS).exists():
                out.append(DeliveryResult(system, day, "waiting"))
                continue
            res = self._claimed(contract, folder, landing)
            if res is None:
                continue
            res.seconds = round(time.perf_counter() - res.started, 3)
            out.append(res)
            self.on_delivery(res)
        return out

    def _file_system(self, contract: Contract, landing: Path) -> list[DeliveryResult]:
        root = landing / contract.system
        if not root.is_dir():
            return []
        done = ledger.finished_deliveries(self.con, contract.system)
        out = self._changed_after_load(contract, landing, None)
        folders = sorted(p for p in root.iterdir() if p.is_dir() or p.is_symlink())
        for folder in (f for f in folders if not DELIVERY_DIR.match(f.name)):  # not a delivery: reported, skipped
            name = printable(folder.name)[:40]
            log.warning("%s/%s is not a delivery folder (YYYYMMDD): skipped", contract.system, name)
            out.append(DeliveryResult(contract.system, name, "ignored",
                                      error="not a delivery folder (YYYYMMDD): skipped"))
        for folder in (f for f in folders if DELIVERY_DIR.match(f.name)):
            if folder.name in done:
                continue
            refused = self._refused(folder, landing)
            if refused:  # named like a delivery but not one: failed with its reason, the others go on
                res = DeliveryResult(contract.system, folder.name, "failed")
                out.append(self._failed(res, DeliveryError(f"{contract.system}/{folder.name}", refused)))
                continue
            if not (folder / SUCCESS).exists():
                # still arriving: later deliveries wait too, deliveries are processed in date order
                out.append(DeliveryResult(contract.system, folder.name, "waiting"))
                break
            res = self._claimed(contract, folder, landing)
            if res is None:
                continue
            out.append(res)
            if res.status == "failed":
                break  # later deliveries of this system wait until this one loads
        return out

    def changed_after_load(self, landing: Path, system: str) -> list[DeliveryResult]:
        """Every loaded delivery of ``system`` whose folder no longer holds what was loaded from it."""
        contract = self.contracts[system]
        return [] if contract.connector == "database" else self._changed_after_load(contract, landing, None)

    def _changed_after_load(self, contract: Contract, landing: Path, days: set[str] | None) -> list[DeliveryResult]:
        """Deliveries (all, or these days) whose folder no longer holds what was loaded from it: a file changed in
        place, added or removed after the load. Reported, never loaded again by itself: a corrected delivery is
        loaded with ``onesource ingest --reload SYSTEM/YYYYMMDD``. Size and modification time spare the hashing
        of every unchanged file."""
        if days is not None and not days:
            return []
        out = []
        for day, files in sorted(ledger.loaded_deliveries(self.con, contract.system).items()):
            folder = landing / contract.system / day
            if (days is not None and day not in days) or not folder.is_dir() or folder.is_symlink():
                continue
            # only the system's data files count: a stray file (a note, .DS_Store) added or touched is no change
            on_disk = {printable(p.name): p for p in folder.iterdir()
                       if p.name != SUCCESS and p.is_file() and contract.table_for(p.name) is not None}
            files = {n: f for n, f in files.items() if contract.table_for(n) is not None}
            what = []
            for name, path in sorted(on_disk.items()):
                if name not in files:
                    what.append(f"{name} added")
                    continue
                sha, size, mtime = files[name]
                st = path.stat()
                if (st.st_size, st.st_mtime_ns) != (size, mtime) and sha256_file(path) != sha:
                    what.append(f"{name} changed")
            what += [f"{name} removed" for name in sorted(set(files) - set(on_disk))]
            if what:
                message = (f"{contract.system}/{day} changed after it was loaded ({'; '.join(what)}): the lake keeps "
                           f"what was loaded; to load the corrected delivery run `onesource ingest --reload "
                           f"{contract.system}/{day}`")
                log.warning("%s", message)
                out.append(DeliveryResult(contract.system, day, "changed", error=message))
        return out

    def reload(self, landing: Path, system: str, day: str) -> DeliveryResult | None:
        """Load a corrected delivery again: its rows (bronze, quarantine, ledger) are removed in one transaction,
        then it is loaded as delivered now. Killed in between, the delivery is simply not loaded, and the next
        ingest loads it."""
        contract = self.contracts.get(system)
        if contract is None or contract.connector == "database":
            raise ValueError(f"{system} is not a system delivered as files")
        if not DELIVERY_DIR.match(day):
            raise ValueError(f"{day!r} is not a delivery day (YYYYMMDD)")
        folder = landing / system / day
        with lake.exclusive(self.settings, f"delivery:{system}/{day}"):
            refused = self._refused(folder, landing) if folder.is_dir() else "no such delivery folder"
            if refused:
                raise ValueError(f"{system}/{day}: {refused}")
            removed = ledger.forget_delivery(self.con, contract, day)
            log.info("%s/%s: %d bronze rows removed for the reload", system, day, removed)
            if not (folder / SUCCESS).exists():
                return DeliveryResult(system, day, "waiting")
            res = self._delivery(contract, folder, landing)
        res.seconds = round(time.perf_counter() - res.started, 3) if res.started else 0.0
        self.on_delivery(res)
        return res

    def _claimed(self, contract: Contract, folder: Path, landing: Path) -> DeliveryResult | None:
        """Load one delivery under a claim on it that every process on this lake respects; None when another
        run loaded it meanwhile (the ledger is read again once the claim is held)."""
        with lake.exclusive(self.settings, f"delivery:{contract.system}/{folder.name}"):
            if folder.name in ledger.finished_deliveries(self.con, contract.system):
                log.info("%s/%s was loaded by another run", contract.system, folder.name)
                return None
            return self._delivery(contract, folder, landing)

    def _refused(self, folder: Path, landing: Path) -> str | None:
        """Why a folder named like a delivery is not one: not a date, dated too far ahead, or a link."""
        day = folder.name
        try:
            dated = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        except ValueError:
            return f"folder {day} is named like a delivery date but is not a valid date"
        today = clock.today()
        ahead = self.settings.ingest_max_future_days
        if dated > today + dt.timedelta(days=ahead):
            return (f"delivery dated {dated.isoformat()} lies more than {ahead} day(s) after today "
                    f"({today.isoformat()}, Asia/Tokyo): refused until then")
        return _outside(folder, landing)

    # -- one delivery --------------------------------------------------------------------------
    def _delivery(self, contract: Contract, folder: Path, landing: Path) -> DeliveryResult:
        system, day = contract.system, folder.name
        delivery_date = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))  # _refused checked it
        batch_id = f"{system}/{day}"
        res = DeliveryResult(system, day, "loaded", started=time.perf_counter())
        loaded_at = dt.datetime.now(dt.UTC)
        meta = (system, delivery_date, batch_id, loaded_at)
        batches: dict[str, Batch] = {}
        try:
            entries = sorted(p for p in folder.iterdir() if p.name != SUCCESS)
            files = []
            for path in entries:  # a link is refused, never followed; what is not a plain file is left alone
                rel = printable(path.relative_to(landing).as_posix())
                why = _outside(path, landing)
                if why:
                    raise DeliveryError(rel, why)
                if not path.is_file():
                    log.warning("%s is not a plain file (a folder?): left alone", rel)
                    res.notes.append(f"{rel}: not a plain file (a folder?): left alone")
                else:
                    files.append(path)
            known = ledger.loaded_files(self.con, system)
            for path in files:
                rel = printable(path.relative_to(landing).as_posix())
                table = contract.table_for(path.name)
                st = path.stat()
                if table is None:  # a stray file (.DS_Store, an archive, a note): said, kept in the ledger, not read
                    log.warning("%s is not a data file of %s (no file of its contract is named so): left alone",
                                rel, system)
                    res.notes.append(f"{rel}: not a data file of {system} (no file of its contract is named so): left alone")
                    res.files.append(FileResult(rel, "", "", "left_alone", size=st.st_size, mtime_ns=st.st_mtime_ns))
                    continue
                sha = sha256_file(path)
                if (path.name, sha) in known:
                    res.files.append(FileResult(rel, table.name, sha, "resend_skipped", size=st.st_size,
                                                mtime_ns=st.st_mtime_ns))
                    continue
                if st.st_size == 0:  # no header, no records: loaded as nothing, and said so
                    log.warning("%s is empty (0 bytes): no records loaded from it", rel)
                    res.files.append(FileResult(rel, table.name, sha, "empty", size=0, mtime_ns=st.st_mtime_ns))
                    continue
                read = reader_for(contract.connector)(path, table, rel)
                batch = batches.get(table.name) or batches.setdefault(table.name, Batch(table, self.tokenizer))
                done_file = batch.add_file(rel, sha, read, meta)
                done_file.size, done_file.mtime_ns = st.st_size, st.st_mtime_ns
                res.files.append(done_file)
            data = [f for f in res.files if f.status != "left_alone"]
            if data and all(f.status == "resend_skipped" for f in data):
                res.status = "resend"
            later = sorted(k for k in ledger.finished_deliveries(self.con, system) if k > day)
            if later:  # deliveries are processed in the order of their key: this one came late
                order = table_orders(contract)
                note = (f"{system}/{day} arrived after {system}/{later[-1]} was loaded: it loads out of the delivery "
                        "order" + (f"; a record's current version follows its {order}, not the order of loading"
                                   if order else "; check that no newer record was overwritten"))
                log.warning("%s", note)
                res.notes.append(note)
            self._commit(res, batches, meta)
        except DeliveryError as exc:
            return self._failed(res, exc)
        except Exception as exc:  # a reader bug or a file nobody foresaw: fail this delivery, not the run
            log.error("unexpected error loading %s: %s", batch_id, mask_my_numbers(traceback.format_exc()))
            return self._failed(res, DeliveryError(batch_id, f"unexpected {exc.__class__.__name__}: {exc}"))
        return res

    def _database(self, contract: Contract, landing: Path) -> DeliveryResult | None:
        dsn = self.settings.keiyaku_dsn.get_secret_value() if self.settings.keiyaku_dsn else None
        source = database.source_for(contract, landing, dsn)
        if source is None:
            return None
        res = DeliveryResult(contract.system, source.label, "loaded", started=time.perf_counter())
        try:
            positions = ledger.read_positions(self.con, contract)
            reads = database.read_tables(contract, source, positions)
            loaded_at = dt.datetime.now(dt.UTC)
            batches: dict[str, Batch] = {}
            new_marks = watermarks.advance(contract, reads, positions)
            if not any(read.rows for read in reads.values()):
                res.status = "unchanged"
                return res
            top = max((wm for wm, _keys in new_marks.values()), default=None) or watermarks.stored(loaded_at)
            delivery_date = dt.date.fromisoformat(top[:10])
            batch_id = f"{contract.system}/{top}"
            meta = (contract.system, delivery_date, batch_id, loaded_at)
            res.delivery = f"{source.label}@{top}"
            for table in contract.tables:
                read = reads[table.name]
                if not read.rows:
                    continue
                rel = f"{source.label}#{table.physical_name}"
                sha = hashlib.sha256("\n".join(r.raw for r in read.rows).encode()).hexdigest()
                batch = batches.setdefault(table.name, Batch(table, self.tokenizer))
                res.files.append(batch.add_file(rel, sha, read, meta))
            self._commit(res, batches, meta, new_marks)
        except DeliveryError as exc:
            return self._failed(res, exc)
        except Exception as exc:
            log.error("unexpected error reading %s: %s", contract.system, mask_my_numbers(traceback.format_exc()))
            return self._failed(res, DeliveryError(contract.system, f"unexpected {exc.__class__.__name__}: {exc}"))
        return res

    def _failed(self, res: DeliveryResult, exc: DeliveryError) -> DeliveryResult:
        res.status = "failed"
        res.error = mask_my_numbers(str(exc))
        res.files = []
        log.error("delivery %s/%s failed: %s", res.system, res.delivery, res.error)
        ledger.record_failure(self.con, res)
        return res

    def _commit(self, res: DeliveryResult, batches: dict[str, Batch], meta: tuple,
                new_marks: dict[str, tuple[str, list[str]]] | None = None) -> None:
        system, delivery_date, batch_id, loaded_at = meta
        checks: list[tuple] = []
        if self.run_expectations:
            from ingestion import expectations

            t0 = time.perf_counter()
            for batch in batches.values():
                if batch.n_rows:
                    checks.extend(expectations.run(batch.table, batch.arrow(), batch_id, loaded_at))
            res.expectations_failed = sum(1 for c in checks if not c[6])
            res.seconds_expectations = round(time.perf_counter() - t0, 3)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            for name, batch in batches.items():
                if batch.n_rows:
                    arrow_batch = batch.arrow()  # noqa: F841 - read by name below
                    con.execute(f"INSERT INTO {lake.LAKE_ALIAS}.bronze.{name} BY NAME SELECT * FROM arrow_batch")
                ledger.insert(con, "quarantine.rows", batch.quarantine)
                ledger.insert(con, "quarantine.field_issues", batch.issues)
            ledger.insert(con, "ops.load_ledger", [
                (batch_id, system, delivery_date, f.file, f.table, f.sha256, f.status, f.rows_read, f.rows_loaded,
                 f.rows_quarantined, f.fields_flagged, json.dumps(f.unknown_columns, ensure_ascii=False), loaded_at,
                 f.size, f.mtime_ns) for f in res.files])
            ledger.insert(con, "ops.schema_drift", [
                (batch_id, system, f.table, f.file, col, loaded_at) for f in res.files for col in f.unknown_columns])
            ledger.insert(con, "ops.expectation_results", checks)
            for table, (mark, keys_at) in (new_marks or {}).items():
                ledger.insert(con, "ops.watermarks", [(system, table, mark, json.dumps(keys_at), batch_id, loaded_at)])
            ledger.insert(con, "ops.deliveries", [(system, res.delivery, delivery_date, batch_id, res.status, None,
                                                   len(res.files), loaded_at)])
            kill_point(f"ingest:{system}/{res.delivery}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def ingest(landing: Path, settings: Settings | None = None, systems: list[str] | None = None,
           run_expectations: bool = True, on_delivery: Callable[[DeliveryResult], None] | None = None,
           reload: list[str] | None = None) -> IngestReport:
    """Load every closed delivery under ``landing`` not loaded yet (and the contract database's changes);
    first, the deliveries named in ``reload`` (``SYSTEM/YYYYMMDD``) are loaded again as delivered now."""
    settings = settings or get_settings()
    unknown = sorted(set(systems or []) - set(contracts()))
    if unknown:
        raise ValueError(f"no such system: {', '.join(s[:40] for s in unknown)} (the systems are "
                         f"{', '.join(contracts())})")
    with lake.writer_claim(settings):  # each delivery is claimed on its own as well
        ing = Ingestor(settings, run_expectations=run_expectations, on_delivery=on_delivery)
        try:
            report = IngestReport()
            for target in reload or []:
                system, _, day = target.partition("/")
                res = ing.reload(landing, system, day)
                if res is not None:
                    report.deliveries.append(res)
            report.deliveries += ing.ingest(landing, systems).deliveries
            return report
        finally:
            ing.con.close()
