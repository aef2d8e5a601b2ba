"""Export a table of the results database to Parquet or CSV (DuckDB's COPY)."""

from __future__ import annotations

from pathlib import Path

from bench.errors import InvalidValueError
from bench.results.case_results import VIEW
from bench.results.read import case_results_query, open_db, selected_runs
from bench.results.schema import KEYS, TABLES
from bench.results.store import sql_literal

FORMATS = {".parquet": "PARQUET", ".csv": "CSV"}
EXPORTABLE = (VIEW, *TABLES, "meta")


def export(db: str | Path, out: str | Path, table: str = VIEW, run: str = "all",
           grid=None) -> int:
    """Write `table` (rows of the selected runs, and of the runs of `grid` if given) to `out`,
    Parquet or CSV by suffix; return the row count. The default, the case_results view, holds
    each case once (its latest passed row per version, `current_version` saying which version the
    report reads); `results` holds every row."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InvalidValueError(f"cannot export to {out.name}: the file must end in {' or '.join(FORMATS)}")
    if table not in EXPORTABLE:
        raise InvalidValueError(f"unknown table {table!r}; choose one of {', '.join(EXPORTABLE)}")
    con = open_db(db)
    try:
        ids = selected_runs(con, run, grid)
        sql, params = f"SELECT * FROM {table}", []
        if table == VIEW:
            order = ", ".join(("dataset", "arch", "method", "ratio", "seed", "run_id", "nodeid"))
            sql = f"SELECT * FROM ({case_results_query(con, run, grid)}) ORDER BY {order}"
        elif ids is not None and table != "meta":
            sql += f" WHERE run_id IN ({', '.join('?' for _ in ids)})"
            params = ids
        if table in TABLES:
            sql += " ORDER BY " + ", ".join(KEYS[table])
        out.parent.mkdir(parents=True, exist_ok=True)
        header = ", HEADER" if fmt == "CSV" else ""
        con.execute(f"COPY ({sql}) TO {sql_literal(str(out))} (FORMAT {fmt}{header})", params)
        return con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    finally:
        con.close()
