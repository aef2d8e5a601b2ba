"""The controller's result writer: each case's row goes into DuckDB as its report arrives."""

from __future__ import annotations

import datetime as dt
import json
import sys
import warnings
from pathlib import Path

import duckdb
import pytest

from bench.harness import row as rows
from bench.plugin.resume import RESUMED_PROPERTY
from bench.results.schema import SCHEMA_VERSION, UnknownColumnError
from bench.results.store import WRITE_WAIT_S, Store, StoreLockedError, lock_path

ROW_PROPERTY = "bench_row"  # the user_properties entry that carries a row (JSON) from a worker


class ResultWriter:
    """Lives on the controller only: writes each case's row as its report arrives. The run is
    recorded with its first case, so a session that runs no case (pytest tests/) leaves no trace."""

    def __init__(self, store: Store, run: dict, created: bool) -> None:
        self.store, self.run, self.run_id, self.written = store, run, run["run_id"], 0
        self.created, self.started = created, False
        self.unwritable: list[str] = []
        self.pending: list[dict] = []  # rows not written yet (a reader held the database)
        self.resumed = 0  # cases skipped because a passed row stands (bench.plugin.resume)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        found = [value for name, value in report.user_properties if name == ROW_PROPERTY]
        if any(name == RESUMED_PROPERTY for name, _ in report.user_properties):
            self.resumed += 1
        if found:
            row = json.loads(found[-1]) | {"run_id": self.run_id}
        elif report.failed and report.when == "???":  # xdist's report for a test whose worker died
            row = rows.crashed(self.run_id, report.nodeid, report.longreprtext)
        else:
            return
        self.pending.append(row)
        self._flush()

    def _flush(self, wait: float = WRITE_WAIT_S) -> bool:
        """Write the pending rows; a database that a reader keeps open longer than `wait` keeps
        them pending for the next case or the end of the session (nothing is lost). True: done."""
        while self.pending:
            row = self.pending[0]
            try:
                if not self.started:
                    self.store.start_run(self.run)
                    self.started = True
                self._write(row)
            except StoreLockedError as exc:
                warnings.warn(f"bench: {len(self.pending)} row(s) kept for later: {exc}", stacklevel=2)
                return False
            self.pending.pop(0)
            self.written += 1
        return True

    def _write(self, row: dict) -> None:
        try:
            self.store.write_case(row)
        except (duckdb.Error, UnknownColumnError) as exc:
            # A row the database refuses still leaves a trace: the case's identity with status
            # error and the reason, so the failure is visible in the results.
            self.unwritable.append(f"{row['nodeid']}: {exc}")
            self.store.write_case(rows.unstorable(row, exc))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        while not self._flush():  # a reader holds the file: wait for it rather than lose rows
            print(f"bench: waiting for the reader of {self.store.path} to close it", file=sys.stderr)
        while self.started:
            try:
                self.store.finish_run(self.run_id, dt.datetime.now(), int(exitstatus))
                break
            except StoreLockedError:
                print(f"bench: waiting for the reader of {self.store.path} to close it", file=sys.stderr)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.written:
            terminalreporter.write_sep("-", f"bench: {self.written} case rows written to "
                                       f"{self.store.path} (run {self.run_id})")
        if self.resumed:
            terminalreporter.write_line(f"bench: {self.resumed} cases skipped by resume: a passed row "
                                        "stands in the database (--bench-rerun runs them again)")
        if 0 < self.store.migrated_from < SCHEMA_VERSION:
            terminalreporter.write_line(f"bench: {self.store.path} was upgraded from schema version "
                                        f"{self.store.migrated_from} to {SCHEMA_VERSION}")
        for line in self.unwritable:
            terminalreporter.write_line(f"bench: row stored as error, database refused it: {line}",
                                        red=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.store.close()
        if self.created and not self.started:  # opened only to hold the lock: remove it again
            for leftover in (self.store.path, Path(f"{self.store.path}.wal"), lock_path(self.store.path)):
                leftover.unlink(missing_ok=True)
