"""Reading results back: case rows selected by run, method, dataset and arch, each case counting
once (the `case_results` view), and the later timings of their kept models (`retimes`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from bench.errors import InvalidValueError, MissingFileError
from bench.harness.case import GROUP_KEYS, REPLICATE
from bench.results import case_results
from bench.results.health import check_readable
from bench.results.store import READ_WAIT_S, columns_of, connect, sql_literal


def open_db(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a results database read-only; a missing file is an error that says how to make one."""
    if not Path(path).exists():
        raise MissingFileError(f"no results database at {path}; run a suite first "
                                "(pytest suites/ --bench-db PATH) or pass --db PATH")
    con = connect(path, read_only=True, wait=READ_WAIT_S, option="--db")  # a run may be writing
    try:
        check_readable(con, path, option="--db")
    except BaseException:
        con.close()
        raise
    return con


def run_ids(con: duckdb.DuckDBPyConnection, run: str = "all") -> list[str] | None:
    """Run ids selected by `run`: 'all' (None: no filter), 'latest' (newest run with results),
    or a run id or unique prefix of one."""
    if run == "all":
        return None
    if run == "latest":
        row = con.execute("SELECT r.run_id FROM runs r WHERE EXISTS (SELECT 1 FROM results x WHERE "
                          "x.run_id = r.run_id) ORDER BY r.started_at DESC LIMIT 1").fetchone()
        if row is None:
            raise InvalidValueError("the database holds no run with results")
        return [row[0]]
    found = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE starts_with(run_id, ?) "
                                       "ORDER BY run_id", [run]).fetchall()]
    if len(found) != 1:
        known = ", ".join(r[0] for r in con.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 5").fetchall())
        what = "matches no run" if not found else f"is ambiguous ({len(found)} runs)"
        raise InvalidValueError(f"--run {run!r} {what}; use all, latest or a run id (newest: {known})")
    return found


def split_names(value: str | Iterable[str] | None) -> list[str] | None:
    """'a,b' or ['a', 'b,c'] -> ['a', 'b', 'c'] (None stays None)."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _source(con: duckdb.DuckDBPyConnection, table: str, inputs: tuple[str, ...],
            ids: list[str] | None = None) -> str:
    """`table` as a subquery holding every column the view reads (NULL where an older file lacks
    one), restricted to the runs `ids` when given."""
    have = set(columns_of(con, table))
    missing = [c for c in dict.fromkeys(inputs) if c not in have]
    cols = ", ".join(["*", *(f"NULL AS {c}" for c in missing)])
    where = f" WHERE run_id IN ({', '.join(sql_literal(i) for i in ids)})" if ids is not None else ""
    return f"(SELECT {cols} FROM {table}{where})"


def selected_runs(con: duckdb.DuckDBPyConnection, run: str = "all", grid=None) -> list[str] | None:
    """Run ids selected by `run` and `grid` together (None: every run)."""
    ids, in_grid = run_ids(con, run), grid_runs(con, grid)
    if in_grid is None:
        return ids
    return in_grid if ids is None else [i for i in ids if i in in_grid]


def case_results_query(con: duckdb.DuckDBPyConnection, run: str = "all", grid=None) -> str:
    """The query of the case results of the selected runs: the database's `case_results` view
    when it has one and every run is read, else the same SQL (bench.results.case_results) over
    the selected runs' rows."""
    ids = selected_runs(con, run, grid)
    views = {r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE database_name = current_database()").fetchall()}
    if ids is None and case_results.VIEW in views:
        return f"SELECT * FROM {case_results.VIEW}"
    return case_results.sql(_source(con, "results", case_results.RESULT_INPUTS, ids),
                            _source(con, "runs", case_results.RUN_INPUTS))


def grid_runs(con: duckdb.DuckDBPyConnection, grid) -> list[str] | None:
    """Run ids of the named grid(s) (--bench-grid; a name, comma-separated names or a list), or
    None for no filter; a name no run carries is an error that lists the known ones."""
    names = split_names(grid)
    if not names:
        return None
    known = ([r[0] for r in con.execute("SELECT DISTINCT grid FROM runs WHERE grid IS NOT NULL "
                                        "ORDER BY grid").fetchall()]
             if "grid" in columns_of(con, "runs") else [])
    missing = [n for n in names if n not in known]
    if missing:
        raise InvalidValueError(f"--grid {', '.join(missing)}: no run of that grid in the database "
                                f"(grids: {', '.join(known) or 'none; name one with --bench-grid'})")
    return [r[0] for r in con.execute(f"SELECT run_id FROM runs WHERE grid IN "
                                      f"({', '.join('?' for _ in names)})", names).fetchall()]


def load_rows(con: duckdb.DuckDBPyConnection, run: str = "all", method=None, dataset=None, arch=None,
              status: str | Sequence[str] | None = None, latest_per_case: bool = True,
              grid=None) -> list[dict]:
    """Result rows as dicts, filtered by run ('all', 'latest', an id), method, dataset and arch
    (each a name, comma-separated names or a list), status and grid (the runs of a --bench-grid,
    over several machines once merged). With `latest_per_case` (the default) they are the rows of
    the `case_results` view over the selected runs: the latest passed row of each case and
    version, with a later failure beside it (`later_status`), and `current_version`; else every
    row of `results`. Each row gains `delta_top1`."""
    have = set(columns_of(con, "results"))
    where, params = [], []
    for column, value in (("method", method), ("dataset", dataset), ("arch", arch),
                          ("status", status)):
        values = split_names(value)
        if values:
            where.append(f"x.{column} IN ({', '.join('?' for _ in values)})")
            params += values
    if latest_per_case:
        sql = f"SELECT * FROM ({case_results_query(con, run, grid)}) AS x"
    else:
        ids = selected_runs(con, run, grid)
        if ids is not None:
            where.append(f"x.run_id IN ({', '.join('?' for _ in ids)})")
            params += ids
        finished = "r.finished_at" if "finished_at" in columns_of(con, "runs") else "NULL"
        sql = (f"SELECT x.*, r.started_at AS run_started_at, {finished} AS run_finished_at "
               "FROM results x LEFT JOIN runs r USING (run_id)")
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = [f"x.{k}" for k in (*GROUP_KEYS, REPLICATE, "nodeid") if k in have]
    cur = con.execute(sql + " ORDER BY " + ", ".join(order), params)
    names = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        top1, dense = row.get("top1"), row.get("top1_dense")
        row["delta_top1"] = top1 - dense if top1 is not None and dense is not None else None
        out.append(row)
    return out


def load_retimes(path: str | Path) -> list[dict]:
    """Every stored timing of a kept model (python -m bench retime --save); none in a database
    older than the retimes table."""
    con = open_db(path)
    try:
        if not columns_of(con, "retimes"):
            return []
        cursor = con.execute("SELECT * FROM retimes ORDER BY retime_id, pass, run_id, nodeid")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        con.close()
