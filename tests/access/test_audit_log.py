"""The audit's reading of the server's csvlog: both forms in which DuckDB's postgres scanner fetches a
table's data files (before the server has statistics of the catalog table, and after ANALYZE or autovacuum,
when the scan is split by ctid ranges), times in the server's log_timezone, other roles and other tables."""

from __future__ import annotations

import csv
import datetime as dt
import io

from access import enforce

FRESH = ('AUDIT: SESSION,30,1,READ,SELECT,,,"COPY (SELECT ""data_file_id"", ""path"", ""encryption_key"" FROM '
         '""ducklake"".""ducklake_data_file"" WHERE ""table_id"" = \'85\' AND ""begin_snapshot"" <= \'140\') TO '
         'STDOUT (FORMAT ""binary"");",<not logged>')
ANALYZED = ('AUDIT: SESSION,28,1,READ,SELECT,,,"COPY (SELECT ""data_file_id"", ""path"", ""encryption_key"" FROM '
            '""ducklake"".""ducklake_data_file"" WHERE ctid BETWEEN \'(0,0)\'::tid AND \'(4294967295,0)\'::tid AND '
            '""table_id"" = \'86\' AND ""begin_snapshot"" <= \'140\') TO STDOUT (FORMAT ""binary"");",<not logged>')
COPY_LINE = ANALYZED.replace("SESSION,28,1,READ,SELECT", "SESSION,28,2,READ,COPY")  # the same fetch, once more
STATS = ('AUDIT: SESSION,26,1,READ,SELECT,,,"COPY (SELECT ""table_id"", ""record_count"" FROM ""ducklake"".'
         '""ducklake_table_stats"" WHERE ""table_id"" = \'87\') TO STDOUT (FORMAT ""binary"");",<not logged>')


def _log(*rows: tuple[str, str, str, str]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    for at, user, session, message in rows:
        w.writerow([at, user, "lake", "123", "127.0.0.1:5", session, "1", "COPY", at, "3/4", "0", "LOG", "00000",
                    message, "", "", "", "", "", "", "client backend"])
    return out.getvalue()


def test_both_forms_of_a_data_file_fetch_are_reads_and_nothing_else_is():
    names = {85: "analysis.persons", 86: "analysis.households", 87: "product_hoiku.applications"}
    text = _log(("2026-12-06 09:00:01.000 JST", "analyst", "s1", FRESH),
                ("2026-12-06 09:00:02.000 JST", "analyst", "s1", ANALYZED),
                ("2026-12-06 09:00:02.100 JST", "analyst", "s1", COPY_LINE),
                ("2026-12-06 09:00:03.000 JST", "analyst", "s2", STATS),
                ("2026-12-06 09:00:04.000 JST", "hoiku", "s3", FRESH.replace("'85'", "'87'")))
    reads = enforce.reads_in_log(text, names, "Asia/Tokyo", role="analyst")
    assert [(r.what, r.table, r.session) for r in reads] == [
        ("attach", None, "s1"), ("read", "analysis.persons", "s1"), ("read", "analysis.households", "s1"),
        ("attach", None, "s2")]  # statistics alone are no read of the table's data
    assert reads[0].at == dt.datetime(2026, 12, 6, 0, 0, 1, tzinfo=dt.UTC)  # the log's time zone, not UTC
    later = enforce.reads_in_log(text, names, "Asia/Tokyo", since=dt.datetime(2026, 12, 6, 0, 0, 2, 500000,
                                                                                 tzinfo=dt.UTC))
    assert [(r.role, r.what, r.table) for r in later] == [("analyst", "attach", None), ("hoiku", "attach", None),
                                                          ("hoiku", "read", "product_hoiku.applications")]
