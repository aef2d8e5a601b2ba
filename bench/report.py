"""Reading results back: case rows selected by run, method and dataset, and statistics over seeds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import duckdb

from bench.stats import summarize
from bench.store import columns_of, connect

# A report line: one (dataset, arch, method, target ratio), aggregated over seeds.
GROUP_KEYS = ("dataset", "arch", "method", "ratio")
# What else fixes a case; these split the report only where they vary in the selected rows.
CONDITION_KEYS = ("pretrain_recipe", "finetune_recipe", "pretrain_seed", "include_classifier",
                  "calibration_size")
# The identity of a case across runs (case_id names method, dataset, arch, ratio, seed and any
# non-default recipe or pretraining seed): a later run of the same case supersedes an earlier one.
CASE_KEYS = ("case_id", "include_classifier", "calibration_size")
# Figures aggregated over seeds; delta_top1 = top1 - top1_dense (fractions, like top1).
METRICS = ("top1", "delta_top1", "top1_dense", "compression", "speedup_theoretical",
           "speedup_measured")
PASSED = "passed"
FAILED = ("failed", "error")


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean, None for no values."""
    return summarize(values).mean if values else None


def std(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1), None below two values."""
    return summarize(values).std if len(values) > 1 else None


def ci95(values: Sequence[float]) -> float | None:
    """Half-width of the two-sided 95% t-interval of the mean, None below two values."""
    if len(values) < 2:
        return None
    s = summarize(values)
    return s.ci_high - s.mean


Stat = Callable[[Sequence[float]], "float | None"]
STATS: dict[str, Stat] = {"mean": mean, "std": std}


def open_db(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a results database read-only; a missing file is an error that says how to make one."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no results database at {path}; run a suite first "
                                "(pytest suites/ --bench-db PATH) or pass --db PATH")
    return connect(path, read_only=True)


def run_ids(con: duckdb.DuckDBPyConnection, run: str = "all") -> list[str] | None:
    """Run ids selected by `run`: 'all' (None: no filter), 'latest' (newest run with results),
    or a run id or unique prefix of one."""
    if run == "all":
        return None
    if run == "latest":
        row = con.execute("SELECT r.run_id FROM runs r WHERE EXISTS (SELECT 1 FROM results x WHERE "
                          "x.run_id = r.run_id) ORDER BY r.started_at DESC LIMIT 1").fetchone()
        if row is None:
            raise ValueError("the database holds no run with results")
        return [row[0]]
    found = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE starts_with(run_id, ?) "
                                       "ORDER BY run_id", [run]).fetchall()]
    if len(found) != 1:
        known = ", ".join(r[0] for r in con.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 5").fetchall())
        what = "matches no run" if not found else f"is ambiguous ({len(found)} runs)"
        raise ValueError(f"--run {run!r} {what}; use all, latest or a run id (newest: {known})")
    return found


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
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
        values = _as_list(value)
        if values:
            where.append(f"x.{column} IN ({', '.join('?' for _ in values)})")
            params += values
    finished = "r.finished_at" if "finished_at" in columns_of(con, "runs") else "NULL"
    sql = (f"SELECT x.*, r.started_at AS run_started_at, {finished} AS run_finished_at "
           "FROM results x LEFT JOIN runs r USING (run_id)")
    if where:
        sql += " WHERE " + " AND ".join(where)
    if latest_per_case:
        partition = ", ".join(f"x.{k}" for k in CASE_KEYS if k in have)
        newest = "r.started_at DESC NULLS LAST" + (", x.started_at DESC NULLS LAST"
                                                   if "started_at" in have else "")
        sql += f" QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {newest}) = 1"
    order = [f"x.{k}" for k in (*GROUP_KEYS, "seed", "nodeid") if k in have]
    cur = con.execute(sql + " ORDER BY " + ", ".join(order), params)
    names = [d[0] for d in cur.description]
    out = []
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        top1, dense = row.get("top1"), row.get("top1_dense")
        row["delta_top1"] = top1 - dense if top1 is not None and dense is not None else None
        out.append(row)
    return out


def varying(rows: Iterable[dict], keys: Sequence[str] = CONDITION_KEYS) -> list[str]:
    """The keys that take more than one value over the passed rows (conditions worth a column)."""
    rows = [r for r in rows if r.get("status", PASSED) == PASSED]
    return [k for k in keys if len({r.get(k) for r in rows}) > 1]


def report_keys(rows: Sequence[dict]) -> tuple[str, ...]:
    """Grouping of the report: dataset, arch, any varying condition, method, ratio."""
    return (*GROUP_KEYS[:2], *varying(rows), *GROUP_KEYS[2:])


def _sort_key(key: tuple) -> tuple:
    return tuple((v is None, v if v is not None else 0) if not isinstance(v, str) else (False, v)
                 for v in key)


def aggregate(rows: Iterable[dict], keys: Sequence[str] = GROUP_KEYS,
              metrics: Sequence[str] = METRICS, stats: dict[str, Stat] | None = None) -> list[dict]:
    """One dict per group of `keys`: the keys, `n` (passed cases), `failed` (failed or errored
    cases) and `<metric>_<stat>` over the passed cases' non-missing values (NaN kept, so a broken
    figure shows). Sorted by the keys."""
    stats = STATS if stats is None else stats
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    out = []
    for key in sorted(groups, key=_sort_key):
        members = groups[key]
        passed = [r for r in members if r.get("status", PASSED) == PASSED]
        line = dict(zip(keys, key, strict=True))
        line["n"] = len(passed)
        line["failed"] = sum(r.get("status") in FAILED for r in members)
        for metric in metrics:
            values = [r[metric] for r in passed if r.get(metric) is not None]
            for name, fn in stats.items():
                line[f"{metric}_{name}"] = fn(values)
        out.append(line)
    return out


def summary(rows: Sequence[dict]) -> dict:
    """What the selection covers: runs, cases by status, unfinished runs (killed, or still
    going), latencies taken under parallel load."""
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.get("status")] = statuses.get(r.get("status"), 0) + 1
    return {"runs": sorted({r["run_id"] for r in rows}), "cases": len(rows), "statuses": statuses,
            "unfinished_runs": sorted({r["run_id"] for r in rows if r.get("run_finished_at") is None}),
            "latency_under_load": sum(bool(r.get("latency_parallel")) and r.get("latency_ms") is not None
                                      for r in rows)}
