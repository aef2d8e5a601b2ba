"""Reading results back: case rows selected by run, method, dataset and arch, the latest row of
each case counting once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from bench.errors import InvalidValueError, MissingFileError
from bench.harness.case import GROUP_KEYS, REPLICATE
from bench.results.health import check_readable
from bench.results.store import columns_of, connect

# Rows written before cases had a key: the id names every non-default coordinate and recipe.
LEGACY_CASE_KEYS = ("case_id", "include_classifier", "calibration_size")


def open_db(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a results database read-only; a missing file is an error that says how to make one."""
    if not Path(path).exists():
        raise MissingFileError(f"no results database at {path}; run a suite first "
                                "(pytest suites/ --bench-db PATH) or pass --db PATH")
    con = connect(path, read_only=True, option="--db")
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


def load_rows(con: duckdb.DuckDBPyConnection, run: str = "all", method=None, dataset=None, arch=None,
              status: str | Sequence[str] | None = None, latest_per_case: bool = True) -> list[dict]:
    """Result rows as dicts, filtered by run ('all', 'latest', an id), method, dataset and arch
    (each a name, comma-separated names or a list) and status; with `latest_per_case`, a case run
    again in a later run counts once, by its latest row. Each row gains `delta_top1`."""
    have = set(columns_of(con, "results"))
    where, params = [], []
    ids = run_ids(con, run)
    if ids is not None:
        where.append(f"x.run_id IN ({', '.join('?' for _ in ids)})")
        params += ids
    for column, value in (("method", method), ("dataset", dataset), ("arch", arch),
                          ("status", status)):
        values = split_names(value)
        if values:
            where.append(f"x.{column} IN ({', '.join('?' for _ in values)})")
            params += values
    finished = "r.finished_at" if "finished_at" in columns_of(con, "runs") else "NULL"
    sql = (f"SELECT x.*, r.started_at AS run_started_at, {finished} AS run_finished_at "
           "FROM results x LEFT JOIN runs r USING (run_id)")
    if where:
        sql += " WHERE " + " AND ".join(where)
    if latest_per_case:  # a case's identity is its key (rows of older schemas: id and conditions)
        legacy = [k for k in LEGACY_CASE_KEYS if k in have]
        partition = ("coalesce(x.case_key, " + " || '|' || ".join(
            f"coalesce(CAST(x.{k} AS VARCHAR), '')" for k in legacy) + ")"
                     if "case_key" in have else ", ".join(f"x.{k}" for k in legacy))
        newest = "r.started_at DESC NULLS LAST" + (", x.started_at DESC NULLS LAST"
                                                   if "started_at" in have else "")
        sql += f" QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {newest}) = 1"
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
