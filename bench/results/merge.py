"""Merge results databases from several machines into one, each run once."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench.errors import MissingFileError
from bench.results.health import check_readable, open_failed
from bench.results.schema import KEYS, SCHEMA_VERSION, TABLES
from bench.results.store import (
    SchemaError,
    Store,
    StoreLockedError,
    columns_of,
    schema_version,
    sql_literal,
)

SOURCE = "merge_source"


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]


def merge_one(store: Store, source: str | Path) -> dict[str, int]:
    """Copy into `store` the rows of `source` it lacks (by run id and case); return rows added per table.

    A run is identified by its run id, so merging the same database twice adds nothing; a run
    that the target holds as interrupted gets its end time from a source that saw it finish.
    """
    source = Path(source)
    if not source.exists():
        raise MissingFileError(f"no results database at {source}")
    con = store.con
    try:
        con.execute(f"ATTACH {sql_literal(str(source))} AS {SOURCE} (READ_ONLY)")
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(f"{source} is locked by a run still writing it; merge it when "
                                   "that run has finished") from None
        raise open_failed(source, exc, option="") from None
    try:
        check_readable(con, source, option="", catalog=SOURCE)
        version = schema_version(con, SOURCE)
        if version > SCHEMA_VERSION:
            raise SchemaError(f"{source} has schema version {version}, newer than this bench's "
                              f"{SCHEMA_VERSION}; upgrade prunebench to merge it")
        added = {}
        con.begin()
        try:
            for table, columns in TABLES.items():
                have = set(columns_of(con, table, catalog=SOURCE))
                if not set(KEYS[table]) <= have:
                    added[table] = 0  # an older database without this table
                    continue
                names = ", ".join(c for c in columns if c in have)
                before = _count(con, table)
                con.execute(f"INSERT OR IGNORE INTO main.{table} ({names}) "
                            f"SELECT {names} FROM {SOURCE}.{table}")
                added[table] = _count(con, table) - before
            if {"finished_at", "exit_status"} <= set(columns_of(con, "runs", catalog=SOURCE)):
                con.execute(f"UPDATE main.runs AS t SET finished_at = s.finished_at, "
                            f"exit_status = s.exit_status FROM {SOURCE}.runs AS s "
                            "WHERE t.run_id = s.run_id AND t.finished_at IS NULL "
                            "AND s.finished_at IS NOT NULL")
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return added
    finally:
        con.execute(f"DETACH {SOURCE}")


def merge(sources: list[str | Path], out: str | Path) -> dict[str, dict[str, int]]:
    """Merge every source database into `out` (created if missing, kept if there); rows added per source."""
    out = Path(out)
    store = Store(out)
    try:
        result = {}
        for source in sources:
            if Path(source).resolve() == out.resolve():
                continue  # already the target
            result[str(source)] = merge_one(store, source)
        return result
    finally:
        store.close()
