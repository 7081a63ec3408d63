"""What a load reports: per file, per delivery, per run (rows read = loaded + quarantined, always)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FileResult:
    file: str
    table: str
    sha256: str
    status: str  # loaded | resend_skipped | empty (a zero-byte file: no records, reported) | left_alone (not a
    #              data file of the system: reported, recorded, not read)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    fields_flagged: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    size: int | None = None  # bytes and modification time as loaded: a file changed in place is seen cheaply
    mtime_ns: int | None = None


@dataclass
class DeliveryResult:
    system: str
    delivery: str  # YYYYMMDD, or the database read's label
    status: str  # loaded | resend | failed | waiting | ignored (not a delivery folder) | changed (after its load)
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what an operator should know though it loaded: strays
    #                                                 left alone, a late delivery, records that contradict
    expectations_failed: int = 0
    seconds: float = 0.0
    seconds_expectations: float = 0.0
    started: float = field(default=0.0, repr=False)

    @property
    def rows(self) -> Counter:
        c: Counter = Counter()
        for f in self.files:
            c.update(read=f.rows_read, loaded=f.rows_loaded, quarantined=f.rows_quarantined, flagged=f.fields_flagged)
        return c


@dataclass
class IngestReport:
    deliveries: list[DeliveryResult] = field(default_factory=list)

    @property
    def failed(self) -> list[DeliveryResult]:
        return [d for d in self.deliveries if d.status == "failed"]

    @property
    def changed(self) -> list[DeliveryResult]:
        """Deliveries changed after their load: the lake keeps what was loaded until an operator reloads them."""
        return [d for d in self.deliveries if d.status == "changed"]

    @property
    def warnings(self) -> list[str]:
        """What an operator must look at although nothing failed: empty files, files changed after their load."""
        out = [f"{f.file} is empty (0 bytes): no records were loaded from it; ask {d.system}'s owner whether the "
               "extract ran" for d in self.deliveries for f in d.files if f.status == "empty"]
        out += [d.error or "" for d in self.deliveries if d.status == "changed"]
        out += [note for d in self.deliveries for note in d.notes]
        return out

    def by_system(self) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for d in self.deliveries:
            c = out.setdefault(d.system, Counter())
            c.update(d.rows)
            c[f"deliveries_{d.status}"] += 1
            c["expectations_failed"] += d.expectations_failed
        return out
