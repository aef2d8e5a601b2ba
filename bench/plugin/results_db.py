"""Opening the results database for a session: the lock taken and the writer registered once, on
the controller, only by a session that will run a bench case."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.plugin.writer import ResultWriter
from bench.results.store import Store

WRITER_NAME = "bench-result-writer"
_RUN = pytest.StashKey[dict]()  # the run's record, kept from configure until the database opens


def plan(config: pytest.Config, run: dict) -> None:
    """Remember the run's record; the database opens with open_writer (its first case known)."""
    config.stash[_RUN] = run


def open_writer(config: pytest.Config) -> ResultWriter | None:
    """The session's writer, opening the database (its lock taken) on the first call; None when
    this session writes no database (a worker, --bench-no-db, --help, --collect-only...)."""
    writer = config.pluginmanager.get_plugin(WRITER_NAME)
    if writer is not None or _RUN not in config.stash:
        return writer
    run = config.stash[_RUN] | {"started_at": dt.datetime.now()}
    path = Path(config.getoption("bench_db") or config.rootpath / "results.duckdb")
    existed = path.exists()
    try:
        # fails fast, before any case runs; opens DuckDB only to write a case
        store = Store(path, hold=False)
    except BenchError as exc:  # locked, damaged, newer schema: one line, before any case runs
        raise pytest.UsageError(str(exc)) from None
    except OSError as exc:
        raise pytest.UsageError(f"cannot create the results database {path}: {exc}; choose "
                                "another place with --bench-db PATH") from None
    writer = ResultWriter(store, run, created=not existed)
    config.pluginmanager.register(writer, WRITER_NAME)
    return writer
