"""Running one case outside any test framework: its row, with when it started, how long it took,
its status and error. The pytest fixture, scripts and launchers call the same function."""

from __future__ import annotations

import datetime as dt
import time
import traceback

from bench.data import DatasetUnavailableError
from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.run import run_case


def execute(case: Case, env: BenchEnv, row: dict | None = None) -> tuple[dict, BaseException | None]:
    """Run `case` and return (row, exception): the row holds everything learnt before any
    failure, `started_at`, `duration_s`, `status` (passed, failed, or skipped when its data is not
    on this machine) and `error` (the traceback); the exception is None when it passed."""
    row = {} if row is None else row
    row["started_at"] = dt.datetime.now().isoformat()
    start = time.perf_counter()
    error: BaseException | None = None
    try:
        run_case(case, env, row)
        row["status"] = "passed"
    except DatasetUnavailableError as exc:
        row["status"], row["error"], error = "skipped", str(exc), exc
    except Exception as exc:
        row["status"], error = "failed", exc
        row["error"] = "".join(traceback.format_exception(exc))
    finally:
        row["duration_s"] = time.perf_counter() - start
    return row, error
