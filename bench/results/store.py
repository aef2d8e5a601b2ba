"""The results database (DuckDB): opening it, migrating it, and one committed row per case."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from bench.errors import BenchError
from bench.results.health import check_readable, damaged, open_failed
from bench.results.schema import (
    CHILDREN,
    EPOCH_COLUMNS,
    JSON_COLUMNS,
    KEYS,
    LAYER_COLUMNS,
    MIGRATIONS,
    RESULT_COLUMNS,
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
        con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return old


def sql_literal(text: str) -> str:
    """A SQL string literal, for the few statements that take no parameters (ATTACH, COPY)."""
    return "'" + text.replace("'", "''") + "'"


def connect(path: str | Path, read_only: bool = False,
            option: str = "--bench-db") -> duckdb.DuckDBPyConnection:
    """Open the database, turning DuckDB's errors (locked, damaged) into ones that say what to do."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            advice = ("read it when that run has finished (DuckDB lets one process write, and "
                      "nobody read meanwhile)" if read_only else
                      "wait for that run to finish, or write this one elsewhere with --bench-db "
                      "OTHER.duckdb (python -m bench merge can combine them later)")
            raise StoreLockedError(
                f"results database {path} is locked by another process ({exc}); {advice}"
            ) from None
        raise open_failed(path, exc, option) from None


class Store:
    """Writer of the results database; one per pytest session, on the controller only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = connect(self.path)
        try:
            check_readable(self.con, self.path)  # a damaged file is refused before any case runs
            self.migrated_from = migrate(self.con)
        except duckdb.Error as exc:
            self.con.close()
            raise damaged(self.path, exc) from None
        except BaseException:
            self.con.close()
            raise

    def start_run(self, run: dict) -> None:
        """Record a new run (one pytest session)."""
        self._insert("runs", RUN_COLUMNS, run)

    def ensure_run(self, run: dict) -> None:
        """Record `run` unless the database holds it already (rows kept from an earlier run)."""
        if not self.con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run["run_id"]]).fetchone():
            self.start_run(run)

    def finish_run(self, run_id: str, finished_at, exit_status: int) -> None:
        """Stamp the run's end time and exit status."""
        self.con.execute("UPDATE runs SET finished_at = ?, exit_status = ? WHERE run_id = ?",
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
        self.con.begin()
        try:
            for table in ("results", "layers", "epochs"):
                self.con.execute(f"DELETE FROM {table} WHERE run_id = ? AND nodeid = ?",
                                 [key["run_id"], key["nodeid"]])
            self._insert("results", RESULT_COLUMNS, row)
            for layer in layers:
                self._insert("layers", LAYER_COLUMNS, layer)
            for epoch in epochs:
                self._insert("epochs", EPOCH_COLUMNS, epoch)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _insert(self, table: str, columns: dict[str, str], row: dict) -> None:
        names = [c for c in columns if c in row]
        values = [json.dumps(row[c]) if c in JSON_COLUMNS and row[c] is not None
                  and not isinstance(row[c], str) else row[c] for c in names]
        marks = ", ".join("?" for _ in names)
        self.con.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)

    def close(self) -> None:
        """Close the connection (every case is already committed)."""
        self.con.close()
