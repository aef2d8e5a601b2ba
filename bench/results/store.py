"""The results database (DuckDB): opening it, migrating it, and one committed row per case."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from bench.errors import BenchError
from bench.results.case_results import create_view
from bench.results.health import check_readable, damaged, open_failed
from bench.results.schema import (
    CHILDREN,
    EPOCH_COLUMNS,
    JSON_COLUMNS,
    KEYS,
    LAYER_COLUMNS,
    MIGRATIONS,
    RESULT_COLUMNS,
    RETIME_COLUMNS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    TABLES,
    check_columns,
)


class StoreLockedError(BenchError, RuntimeError):
    """Another process holds the database open for writing."""


class SchemaError(BenchError, RuntimeError):
    """The database was written by a newer version of the bench than this one."""


def _create(table: str) -> str:
    cols = ", ".join(f"{name} {kind}" for name, kind in TABLES[table].items())
    key = f", PRIMARY KEY ({', '.join(KEYS[table])})" if table != "runs" else ""
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols}{key})"


def columns_of(con: duckdb.DuckDBPyConnection, table: str, schema: str = "main",
               catalog: str | None = None) -> list[str]:
    """The columns a table of the open database really has (older databases may lack some)."""
    sql = ("SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = ?"
           " AND table_catalog = coalesce(?, current_database()) ORDER BY ordinal_position")
    return [r[0] for r in con.execute(sql, [table, schema, catalog]).fetchall()]


def schema_version(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> int:
    """The schema version recorded in the database (0 when it has no meta table)."""
    prefix = f"{catalog}." if catalog else ""
    if not columns_of(con, "meta", catalog=catalog):
        return 0
    row = con.execute(f"SELECT value FROM {prefix}meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring an open database up to SCHEMA_VERSION (create tables, add columns); return the old version."""
    old = schema_version(con)
    if old > SCHEMA_VERSION:
        raise SchemaError(f"the results database was written with schema version {old}, newer than "
                          f"this bench's {SCHEMA_VERSION}; upgrade prunebench to write into it")
    con.begin()
    try:
        con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        for table, columns in TABLES.items():
            con.execute(_create(table))
            have = set(columns_of(con, table))
            for name, kind in columns.items():
                if name not in have:  # constraints cannot be added to existing rows; the type can
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind.split()[0]}")
        for version in range(old + 1, SCHEMA_VERSION + 1):
            for sql in MIGRATIONS.get(version, []):
                con.execute(sql)
        create_view(con)  # after the columns: the view reads them
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return old


def sql_literal(text: str) -> str:
    """A SQL string literal, for the few statements that take no parameters (ATTACH, COPY)."""
    return "'" + text.replace("'", "''") + "'"


def _locked_message(path, detail, read_only: bool) -> str:
    advice = ("read it when that run has finished (DuckDB lets one process write, and "
              "nobody read meanwhile)" if read_only else
              "wait for that run to finish, or write this one elsewhere with --bench-db "
              "OTHER.duckdb (python -m bench merge can combine them later)")
    return f"results database {path} is locked by another process ({detail}); {advice}"


def connect(path: str | Path, read_only: bool = False, wait: float = 0.0,
            option: str = "--bench-db") -> duckdb.DuckDBPyConnection:
    """Open the database, turning DuckDB's errors (locked, damaged) into ones that say what to do.
    With `wait`, a lock held by another process is retried for up to that many seconds (a run
    writing one case holds the file for milliseconds; a reader for as long as its query)."""
    deadline = time.monotonic() + wait
    pause = 0.01
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if "lock" not in str(exc).lower():
                raise open_failed(path, exc, option) from None
            if time.monotonic() >= deadline:
                raise StoreLockedError(_locked_message(path, exc, read_only)) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


READ_WAIT_S = 10.0  # a reader meeting a run mid-write retries this long
WRITE_WAIT_S = 60.0  # a run meeting a reader retries this long per attempt


def lock_path(path: str | Path) -> Path:
    """The file lock a writer holds for its whole session: <db>.lock."""
    return Path(f"{path}.lock")


class Store:
    """Writer of the results database. It holds the file lock <db>.lock from opening to close,
    so a second writer fails at once. With `hold` (the default) it also keeps the DuckDB
    connection open; without it (a pytest run) it opens the database only while it writes, so
    that reports can read the file between cases."""

    def __init__(self, path: str | Path, hold: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = FileLock(str(lock_path(self.path)))
        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            raise StoreLockedError(_locked_message(
                self.path, f"a writer holds {lock_path(self.path)}", read_only=False)) from None
        self.con: duckdb.DuckDBPyConnection | None = None
        self.migrated_from, self._migrated = 0, False
        try:
            if hold:
                self.con = connect(self.path)
                self._migrate(self.con)
            elif self.path.exists():  # refuse a newer schema or a busy file now, not mid-run
                with self.connection(wait=3.0):
                    pass
        except BaseException:
            self.close()
            raise

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        """On the first open: refuse a damaged file (before any case runs), then migrate it."""
        if not self._migrated:
            try:
                check_readable(con, self.path)
                self.migrated_from = migrate(con)
            except duckdb.Error as exc:
                raise damaged(self.path, exc) from None
            self._migrated = True

    @contextlib.contextmanager
    def connection(self, wait: float = WRITE_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open connection, or (not holding) one opened for this block and closed after it,
        migrating the file on its first open."""
        if self.con is not None:
            yield self.con
            return
        con = connect(self.path, wait=wait)
        try:
            self._migrate(con)
            yield con
        finally:
            con.close()

    def start_run(self, run: dict) -> None:
        """Record a new run (one pytest session)."""
        with self.connection() as con:
            _insert(con, "runs", RUN_COLUMNS, run)

    def ensure_run(self, run: dict) -> None:
        """Record `run` unless the database holds it already (rows kept from an earlier run)."""
        with self.connection() as con:
            known = con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run["run_id"]]).fetchone()
        if not known:
            self.start_run(run)

    def finish_run(self, run_id: str, finished_at, exit_status: int) -> None:
        """Stamp the run's end time and exit status."""
        with self.connection() as con:
            con.execute("UPDATE runs SET finished_at = ?, exit_status = ? WHERE run_id = ?",
                        [finished_at, exit_status, run_id])

    def write_case(self, row: dict) -> None:
        """Insert one case with its layers and epochs, committed at once. A key that no column
        holds is refused (UnknownColumnError), so a new figure cannot vanish unnoticed."""
        check_columns("results", row, ignore=CHILDREN)
        key = {"run_id": row["run_id"], "nodeid": row["nodeid"]}
        layers = [key | layer for layer in row.get("layers") or []]
        epochs = [key | epoch | {"epoch": i} for i, epoch in enumerate(row.get("epochs") or [])]
        for layer in layers:
            check_columns("layers", layer)
        for epoch in epochs:
            check_columns("epochs", epoch)
        with self.connection() as con:
            con.begin()
            try:
                for table in ("results", "layers", "epochs"):
                    con.execute(f"DELETE FROM {table} WHERE run_id = ? AND nodeid = ?",
                                [key["run_id"], key["nodeid"]])
                _insert(con, "results", RESULT_COLUMNS, row)
                for layer in layers:
                    _insert(con, "layers", LAYER_COLUMNS, layer)
                for epoch in epochs:
                    _insert(con, "epochs", EPOCH_COLUMNS, epoch)
                con.commit()
            except BaseException:
                con.rollback()
                raise

    def write_retime(self, entry: dict) -> None:
        """Insert one timing of a kept model (python -m bench retime --save), committed at once."""
        check_columns("retimes", entry)
        with self.connection() as con:
            _insert(con, "retimes", RETIME_COLUMNS, entry)

    def close(self) -> None:
        """Close the connection (every case is already committed) and release the lock."""
        if self.con is not None:
            self.con.close()
            self.con = None
        if self.lock.is_locked:
            self.lock.release()


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], row: dict) -> None:
    names = [c for c in columns if c in row]
    values = [json.dumps(row[c]) if c in JSON_COLUMNS and row[c] is not None
              and not isinstance(row[c], str) else row[c] for c in names]
    marks = ", ".join("?" for _ in names)
    con.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)
