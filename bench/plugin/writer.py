"""The controller's result writer: each case's row goes into DuckDB as its report arrives."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import warnings
from pathlib import Path

import pytest

from bench.harness import row as rows
from bench.results import disk_full, pending
from bench.results.schema import SCHEMA_VERSION
from bench.results.store import WRITE_WAIT_S, Store, StoreLockedError, lock_path

ROW_PROPERTY = "bench_row"  # the user_properties entry that carries a row (JSON) from a worker
RESUMED_PROPERTY = "bench_resumed"  # user_properties entry of a case skipped by resume


class ResultWriter:
    """Lives on the controller only: writes each case's row as its report arrives. The run is
    recorded with its first case, so a session that runs no case (pytest tests/) leaves no trace."""

    def __init__(self, store: Store, run: dict, created: bool) -> None:
        self.store, self.run, self.run_id, self.written = store, run, run["run_id"], 0
        self.created, self.started = created, False
        self.unwritable: list[str] = []
        self.pending: list[dict] = []  # rows not written yet (a reader held the database)
        self.resumed = 0  # cases skipped because a passed row stands (bench.plugin.resume)
        self.kept = 0  # rows the database refused, kept in <db>.pending.jsonl
        self.full = False  # the database's file system ran out of space (told in one line)
        self.printed = 0  # rows that could not be kept on disk either: printed as JSON lines
        self.taken_in, self.still_pending = pending.take_in(store)  # kept by an earlier run
        self.created = created and not self.taken_in  # a file that now holds rows stays

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
                stored = self._write(row)
            except StoreLockedError as exc:
                warnings.warn(f"bench: {len(self.pending)} row(s) kept for later: {exc}", stacklevel=2)
                return False
            self.pending.pop(0)
            self.written += stored
        return True

    def _write(self, row: dict) -> bool:
        """Write one row (the run's record first); a row the database refuses is kept beside it
        (a lock is left to the caller, which keeps the row pending and tries again). True: stored."""
        try:
            if not self.started:
                self.store.start_run(self.run)
                self.started = True
            self.store.write_case(row)
            return True
        except StoreLockedError:
            raise
        except Exception as exc:
            self._keep(row, exc)
            return False

    def _keep(self, row: dict, exc: Exception) -> None:
        """Keep a refused row beside the database for the next run; where the database itself
        works (a value or key it refuses), also store the row's identity with status error and
        the reason. On a full file system the row is printed (a line of the pending file) if it
        cannot be kept either."""
        full = self.full = self.full or disk_full.is_disk_full(exc)  # later errors follow from it
        try:
            path = pending.keep(self.store.path, self.run, row)
        except OSError as kept_exc:
            if not disk_full.is_disk_full(kept_exc):
                raise
            self.full = True
            print(pending.line(self.run, row), end="", file=sys.stderr, flush=True)
            self.printed += 1
            return
        self.kept += 1
        if full:
            return  # told once, in one line, at the end
        self.unwritable.append(f"{row['nodeid']}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                               f" (kept in {path})")
        with contextlib.suppress(Exception):  # the full row is in the file already
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
            except Exception as exc:
                if disk_full.is_disk_full(exc):
                    self.full = True
                else:
                    self.unwritable.append(f"end of run {self.run_id} not recorded: {exc}")
                break

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
        if self.taken_in or self.still_pending:
            terminalreporter.write_line(
                f"bench: {self.taken_in} rows kept in {pending.pending_path(self.store.path)} by an "
                f"earlier run were taken in" + (f"; {self.still_pending} still refused, kept there"
                                                 if self.still_pending else ""))
        for line in self.unwritable:
            terminalreporter.write_line(f"bench: the database refused a row: {line}", red=True)
        kept_at = pending.pending_path(self.store.path)
        if self.full:
            saved = [f"{self.kept} rows kept in {kept_at}"] if self.kept else []
            if self.printed:
                saved.append(f"{self.printed} rows printed above as JSON lines (append them to "
                             f"{kept_at} once there is space)")
            terminalreporter.write_line(f"bench: {disk_full.message(self.store.path)}"
                                        + (f"; {' and '.join(saved)}; the next run takes them in"
                                           if saved else ""), red=True)
        elif self.kept:
            terminalreporter.write_line(
                f"bench: {self.kept} rows kept in {kept_at}; the next "
                "run with this database takes them in", red=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        try:
            self.store.close()
        except Exception as exc:
            if not disk_full.is_disk_full(exc):
                raise
            print(f"bench: {disk_full.message(self.store.path)}", file=sys.stderr)
            return
        if self.created and not self.started:  # opened only to hold the lock: remove it again
            for leftover in (self.store.path, Path(f"{self.store.path}.wal"), lock_path(self.store.path)):
                leftover.unlink(missing_ok=True)
