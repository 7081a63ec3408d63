"""Re-encryption of a product after a revocation: its rows under new keys, its old files gone.

In the ENCRYPTED lake every data file has its own key, kept in the catalog. A role whose grant is revoked
fetches no key from then on, but it may have kept the keys it fetched before (they are rows of the catalog
it could select). Those keys open only the files they were made for: the product as it was up to the
revocation. What they could still reach is those files, for as long as they exist: time travel keeps every
release's files, and a role that later gains read access to the storage would decrypt them.

:func:`reencrypt` closes that: in one DuckLake transaction it rewrites the product's current rows into new
files (DuckLake generates a new key per write), then deletes from the storage every file the product ever had
that the current snapshot no longer uses, under every table id the product's name has had (a dbt
``table`` model is a new table each build). The catalog keeps their rows, so a time-travel read of the
product before the re-encryption fails loudly ("cannot open file") instead of answering from nothing; every
other table keeps its history. The kept keys then open no file that exists.

It runs as the data team (the catalog's owner), between refreshes; ``onesource access reencrypt`` is the
command.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from core.lake import LAKE_ALIAS as L
from core.lake import metadata


class ReencryptError(RuntimeError):
    """The product cannot be re-encrypted (no such table, a lake that is not encrypted)."""


@dataclass(frozen=True)
class Reencryption:
    product: str
    rows: int
    snapshot_id: int  # the snapshot that holds the product under its new keys
    files_written: int
    files_removed: int  # data and delete files of the product's past, deleted from the storage
    old_keys: int  # keys that now open no existing file


def _files(con: duckdb.DuckDBPyConnection, meta: str, schema: str, table: str, current: bool) -> list[tuple]:
    """(data_file_id, path relative to the data path or absolute, is_relative, key) of the product's data and
    delete files, current (used by the newest snapshot) or past (every other), under every table id of
    that name."""
    ended = "(f.end_snapshot is not null or t.end_snapshot is not null{})"
    rows = []
    for kind, id_col, extra in (
            ("ducklake_data_file", "data_file_id", ""),
            # a delete file ends with its data file too
            ("ducklake_delete_file", "delete_file_id", " or d.end_snapshot is not null")):
        data_join = f"join {meta}.ducklake_data_file d on d.data_file_id = f.data_file_id" if extra else ""
        which = ended.format(extra) if not current else f"not {ended.format(extra)}"
        rows += con.execute(f"""
            select f.{id_col},
                   case when not f.path_is_relative then f.path
                        when not t.path_is_relative then t.path || f.path
                        else s.path || t.path || f.path end,
                   f.path_is_relative and t.path_is_relative and s.path_is_relative,
                   f.encryption_key
            from {meta}.{kind} f {data_join}
            join {meta}.ducklake_table t on t.table_id = f.table_id
            join {meta}.ducklake_schema s on s.schema_id = t.schema_id
            where s.schema_name = ? and t.table_name = ? and {which}""", [schema, table]).fetchall()
    return rows


def reencrypt(con: duckdb.DuckDBPyConnection, product: str) -> Reencryption:
    """Rewrite ``schema.table`` under new keys and delete its past files from the storage (see the module).
    ``con`` is the owner's read-write lake connection."""
    schema, _, table = product.partition(".")
    if not table:
        raise ReencryptError(f"{product}: name a table as schema.table")
    meta = metadata(con)
    encrypted = con.execute(f"select value from ducklake_options('{L}') where option_name = 'encrypted'").fetchone()
    if not encrypted or encrypted[0] != "true":
        raise ReencryptError("the lake is not ENCRYPTED: its files have no keys to renew")
    exists = con.execute("select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
                         "and table_name = ?", [L, schema, table]).fetchone()[0]
    if not exists:
        raise ReencryptError(f"{product}: no such table in the lake")
    ident = f'{L}."{schema}"."{table}"'
    con.execute("begin")
    try:
        con.execute(f"create or replace temp table _reencrypt as select * from {ident}")
        con.execute(f"delete from {ident}")
        con.execute(f"insert into {ident} select * from _reencrypt")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists _reencrypt")
    snapshot = con.execute(f"select id from {L}.current_snapshot()").fetchone()[0]
    rows = con.execute(f"select count(*) from {ident}").fetchone()[0]
    current = _files(con, meta, schema, table, current=True)
    past = _files(con, meta, schema, table, current=False)
    current_keys = {k for *_, k in current}
    if current_keys & {k for *_, k in past}:  # DuckLake makes a key per write: a shared key is a bug
        raise ReencryptError(f"{product}: a current file shares a key with a past one; nothing was deleted")
    if past:  # DuckLake's own queue of files to delete: its cleanup deletes them on any storage
        con.execute("begin")
        con.executemany(f"insert into {meta}.ducklake_files_scheduled_for_deletion values (?, ?, ?, now())",
                        [(i, p, rel) for i, p, rel, _k in past])
        con.execute("commit")
        con.execute(f"call ducklake_cleanup_old_files('{L}', cleanup_all => true)").fetchall()
    return Reencryption(product, rows, snapshot, len(current), len(past), len({k for *_, k in past}))
