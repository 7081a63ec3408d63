"""Random bytes, random JSON, random workbook cells and random change times through every connector
(issue 16): no exception escapes a reader, and every record the test's own generator wrote is accounted for
exactly once, loaded or quarantined, under the line (or row, or key) where it starts. The generator, not the
connector, counts: a blank line is no record, a quoted field may hold a line break and still be one record.
A last test runs a broken delivery through the whole ingest and reloads it once fixed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ids import atena_check_digit
from ingestion.batch import Batch
from ingestion.connectors import DeliveryError, database, reader_for
from ingestion.contracts import contracts
from ingestion.tokens import Tokenizer

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
META = ("fuzz", dt.date(2026, 11, 1), "fuzz/20261101", dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
TEXT = st.text(alphabet=st.sampled_from("市川八幡ｲﾁｶﾜ太郎〓①髙 0123456789-ー，。abcXYZ\t"), max_size=12)
# junk for a line-based file: any bytes but the line ends (CR alone fails the whole file, by the spec) and
# the double quote (which opens a quoted field that may run over lines); a blank line is no record
JUNK_LINE = st.binary(min_size=1, max_size=120).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")
                                                    .replace(b'"', b"")).filter(lambda b: b.strip())


def _atena(serial: int) -> str:
    s = f"{serial % 10_000_000:07d}"
    return s + str(atena_check_digit(s))


def _table(system: str, name: str | None = None):
    c = contracts()[system]
    return next(t for t in c.tables if name is None or t.name == name)


def _account(table, read, starts: list[int]) -> None:
    """Every generated record once: the reader's rows start exactly where the generator's records do, and
    the batch loads or quarantines each of them."""
    assert sorted(r.line for r in read.rows) == sorted(starts)
    batch = Batch(table, Tokenizer(b"k" * 32))
    res = batch.add_file("fuzz/file", "0" * 64, read, META)
    assert res.rows_read == len(starts) == res.rows_loaded + res.rows_quarantined
    assert len(batch.quarantine) == res.rows_quarantined and batch.n_rows == res.rows_loaded


def _csv_record(table, draw_values: list[str], quote_all: bool) -> str:
    cells = []
    for v in draw_values:
        if quote_all or any(ch in v for ch in ',"\n'):
            cells.append('"' + v.replace('"', '""') + '"')
        else:
            cells.append(v)
    return ",".join(cells)


@st.composite
def csv_records(draw, width: int, key_index: int):
    """A record that has the table's shape (a valid key, random text, perhaps a line break inside a quoted
    field), or a line of random bytes."""
    if draw(st.booleans()):
        return ("junk", draw(JUNK_LINE))
    values = [draw(TEXT) for _ in range(width)]
    values[key_index] = _atena(draw(st.integers(0, 9_999_999)))
    if draw(st.booleans()):
        i = draw(st.integers(0, width - 1))
        values[i] = values[i] + "\n" + draw(TEXT)  # a text typed over two lines
    return ("record", values)


def _write_csv(path: Path, table, records, header: bool, encoding: str, quote_all: bool, crlf: bool,
               bom: bool) -> list[int]:
    """The file, and the line on which each record starts (the generator's own count)."""
    end = b"\r\n" if crlf else b"\n"
    out, starts, line = [], [], 1
    if header:
        out.append(",".join(f'"{c.physical_name}"' for c in table.columns).encode(encoding))
        line += 1
    for kind, value in records:
        if kind == "junk":
            out.append(value)
        else:
            out.append(_csv_record(table, value, quote_all).encode(encoding, errors="replace"))
        starts.append(line)
        line += out[-1].count(b"\n") + 1
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + end.join(out) + end)
    return starts


@pytest.mark.parametrize("system", ["juki", "madoguchi", "houjin"])
def test_csv_connectors_account_for_every_record(system, tmp_path):
    table = _table(system)
    opts = table.options
    header = bool(opts.get("header", True))
    key_index = [c.name for c in table.columns].index(table.record_key[0])
    encoding = "cp932" if system == "juki" else "utf-8"

    @FUZZ
    @given(st.lists(csv_records(len(table.columns), key_index), min_size=1, max_size=25))
    def run(records):
        path = tmp_path / "f.csv"
        starts = _write_csv(path, table, records, header, encoding, quote_all=system == "juki",
                            crlf=system == "juki", bom=system == "madoguchi")
        read = reader_for("csv")(path, table, "fuzz/f.csv")
        _account(table, read, starts)

    run()


@given(st.lists(st.one_of(JUNK_LINE, st.binary(min_size=200, max_size=200).map(
    lambda b: b.replace(b"\n", b" ").replace(b"\r", b" "))), min_size=1, max_size=25))
@FUZZ
def test_fixed_width_accounts_for_every_record(tmp_path, records):
    _account_lines(tmp_path, "zei", "fixed_width", "f.dat", records, b"\r\n")


def _account_lines(tmp_path, system: str, connector: str, name: str, lines: list[bytes], end: bytes) -> None:
    """Write ``lines`` (one record each) as a file of ``system``, read it with ``connector``, account for all."""
    table = _table(system)
    path = tmp_path / name
    path.write_bytes(b"".join(line + end for line in lines))
    read = reader_for(connector)(path, table, f"fuzz/{name}")
    _account(table, read, list(range(1, len(lines) + 1)))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["hihokensha_bango", "shimei", "seinengappi", "x", "shinseisha", "jusho",
                                         "shinsei_bango", "updated_at", "kubun"]), inner, max_size=5),
                    max_leaves=12)


@st.composite
def json_lines(draw):
    kind = draw(st.sampled_from(["value", "object", "bytes", "deep", "surrogate"]))
    if kind == "value":
        return json.dumps(draw(JSON)).encode()
    if kind == "object":
        obj = draw(st.dictionaries(st.sampled_from(["hihokensha_bango", "shimei", "shikaku_shutoku_ymd", "new"]),
                                   JSON, min_size=1, max_size=4))
        obj["hihokensha_bango"] = draw(st.one_of(st.integers(0, 99_999_999).map(lambda i: f"{i:08d}"), JSON))
        return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode()
    if kind == "deep":
        n = draw(st.integers(100, 3000))
        return b'{"hihokensha_bango": "10000001", "x": ' + b"[" * n + b"]" * n + b"}"
    if kind == "surrogate":
        return b'{"hihokensha_bango": "10000002", "shimei": "\\udc00"}'
    return draw(JUNK_LINE)


@given(st.lists(json_lines(), min_size=1, max_size=25))
@FUZZ
def test_json_lines_account_for_every_record(tmp_path, lines):
    _account_lines(tmp_path, "kokuho", "jsonl", "f.jsonl", lines, b"\n")


@given(st.one_of(json_lines(), st.binary(min_size=1, max_size=200).filter(lambda b: b.strip())))
@FUZZ
def test_json_documents_are_one_record_each(tmp_path, body):
    table = _table("hojokin")
    path = tmp_path / "shinsei_HJ-2026-000001.json"
    path.write_bytes(body)
    read = reader_for("json_document")(path, table, "fuzz/doc.json")
    _account(table, read, [1])


CELL = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                 TEXT.filter(lambda s: not s.startswith("=")), st.booleans(),
                 st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)), st.times(),
                 st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)))


@given(st.lists(st.lists(CELL, min_size=1, max_size=16), min_size=1, max_size=15))
@FUZZ
def test_workbook_cells_account_for_every_row(tmp_path, rows):
    import openpyxl

    table = _table("kosodate")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = str(table.options["sheet"])
    header_row = int(table.options.get("headerRow", 1))
    ws.cell(row=1, column=1, value="保育所等利用申込一覧")
    for i, c in enumerate(table.columns, start=1):
        ws.cell(row=header_row, column=i, value=c.physical_name)
    starts = []
    for r, cells in enumerate(rows, start=header_row + 1):
        for i, v in enumerate(cells, start=1):
            ws.cell(row=r, column=i, value=v)
        if any(v is not None and not (isinstance(v, str) and not v.strip()) for v in cells):
            starts.append(r)  # a row with nothing in it is layout, not a record
    path = tmp_path / "hoiku.xlsx"
    wb.save(path)
    read = reader_for("xlsx")(path, table, "fuzz/hoiku.xlsx")
    _account(table, read, starts)


CHANGE_TIME = st.one_of(st.none(), TEXT, st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 1, 1)).map(
    lambda d: d.isoformat(sep=" ")), st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 1, 1)).map(
    lambda d: d.isoformat() + "Z"), st.integers(-2**63, 2**63 - 1))


@given(st.lists(st.tuples(CHANGE_TIME, TEXT, st.one_of(st.none(), TEXT)), min_size=1, max_size=20))
@FUZZ
def test_contract_database_rows_account_for_every_row(tmp_path, rows):
    from tests.fixtures.handmade import KEIYAKU_DDL

    path = tmp_path / "keiyaku.sqlite"
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    for ddl in KEIYAKU_DDL:
        con.execute(ddl.replace(" NOT NULL", ""))
    con.executemany("insert into gyosha (gyosha_id, updated_at, shogo, houjin_bango) values (?, ?, ?, ?)",
                    [(i, *r) for i, r in enumerate(rows, start=1)])
    con.commit()
    con.close()
    contract = contracts()["keiyaku"]
    reads = database.read_tables(contract, database.Source("keiyaku.sqlite", sqlite_path=path), {})
    table = next(t for t in contract.tables if t.physical_name == "gyosha")
    _account(table, reads[table.name], list(range(1, len(rows) + 1)))


def test_a_broken_delivery_is_accounted_for_and_loads_once_fixed(tmp_path):
    """Random junk among a day's records: every line loaded or quarantined; the delivery fixed and reloaded
    loads every record, and none of the junk is left."""
    import os

    from core import lake
    from core.settings import Settings
    from tests.fixtures import handmade
    from tests.support.commands import run_cli

    handmade.build(tmp_path / "zone")
    landing = tmp_path / "zone" / "landing"
    path = landing / "juki" / "20261101" / "juki_full_20261101.csv"
    lines = [x for x in path.read_bytes().split(b"\r\n") if x.strip()]
    junk = [b"\x00\xff\x81 garbage", b"1,2,3", "\u7e8a,,,,".encode("cp932", errors="replace"), b'"' * 3 + b"open"]
    path.write_bytes(b"\r\n".join(lines[:3] + junk + lines[3:]) + b"\r\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ONESOURCE_")},
           "ONESOURCE_HOME": str(tmp_path / "home"), "ONESOURCE_KEYS_DIR": str(tmp_path / "keys")}
    settings = Settings(home=tmp_path / "home", keys_dir_override=tmp_path / "keys")

    def ledger() -> tuple[tuple, list[str]]:
        con = lake.connect(settings, read_only=True)
        try:
            counts = con.execute("select rows_read, rows_loaded, rows_quarantined from lake.ops.load_ledger where "
                                 "file = 'juki/20261101/juki_full_20261101.csv'").fetchall()
            raws = [r for (r,) in con.execute("select raw_text from lake.quarantine.rows where "
                                              "file = 'juki/20261101/juki_full_20261101.csv'").fetchall()]
        finally:
            con.close()
        assert len(counts) == 1
        return counts[0], raws

    first = run_cli("ingest", "--landing", str(landing), "--system", "juki", env=env)
    assert first.returncode == 0 and "Traceback" not in first.stderr, first.stderr[-2000:]
    (read, loaded, quarantined), raws = ledger()
    assert read == len(lines) - 1 + len(junk) == loaded + quarantined  # the header is no record
    assert len([r for r in raws if "garbage" in r or "open" in r or r == "1,2,3"]) == 3
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    fixed = run_cli("ingest", "--landing", str(landing), "--system", "juki", "--reload", "juki/20261101", env=env)
    assert fixed.returncode == 0 and "Traceback" not in fixed.stderr, fixed.stderr[-2000:]
    (read2, loaded2, quarantined2), raws2 = ledger()
    assert read2 == len(lines) - 1 == loaded2 + quarantined2 and loaded2 == loaded
    assert quarantined2 == quarantined - len(junk) and not [r for r in raws2 if "garbage" in r or r == "1,2,3"]
    with pytest.raises(DeliveryError):  # a file of lone CRs is the one per-file reason
        (tmp_path / "cr.jsonl").write_bytes(b'{"a": 1}\r{"b": 2}\r')
        reader_for("jsonl")(tmp_path / "cr.jsonl", _table("kokuho"), "fuzz/cr.jsonl")
