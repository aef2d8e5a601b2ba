"""The pytest plugin: options, fixtures that run cases, and the controller that writes rows."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import duckdb
import pytest
import torch

from bench import provenance
from bench.case import BenchEnv, Case, run_case
from bench.data import DatasetUnavailableError
from bench.methods import discover
from bench.store import SCHEMA_VERSION, SchemaError, Store, StoreLockedError
from bench.zoo import Zoo

pytest_plugins = ["bench.suite_selection"]  # named suites (--bench-suite) come with the plugin

ROW = pytest.StashKey[dict]()
EXTRA = pytest.StashKey[dict]()
ROW_PROPERTY = "bench_row"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "pruning benchmark")
    group.addoption("--bench-db", default=None, metavar="PATH",
                    help="results database (default: results.duckdb in the rootdir)")
    group.addoption("--bench-cache", default=None, metavar="DIR",
                    help="pretrained-model cache (default: $BENCH_CACHE or ~/.cache/prunebench)")
    group.addoption("--bench-data", default=None, metavar="DIR",
                    help="root of on-disk datasets (default: $BENCH_DATA or ~/data)")
    group.addoption("--bench-methods", default=None, metavar="DIR",
                    help="folder of method files (default: methods/ in the rootdir)")
    group.addoption("--bench-device", default="cpu", metavar="DEV",
                    help="torch device the cases run on (default: cpu)")
    group.addoption("--bench-no-latency", action="store_true",
                    help="skip latency measurement (faster; latency columns stay empty)")
    group.addoption("--bench-strict-methods", action="store_true",
                    help="a broken method file is a collection error instead of failing its cases")
    group.addoption("--bench-no-db", action="store_true", help="write no results database")


# Invocations that run no case and so open no database (pytest --help, --fixtures, ...).
_NO_RUN_OPTIONS = ("help", "version", "collectonly", "showfixtures", "show_fixtures_per_test",
                   "markers", "setupplan", "setuponly")


def _is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def _workers(config: pytest.Config) -> int:
    """Number of xdist worker processes (0: the cases run in this process)."""
    if getattr(config.option, "dist", "no") == "no":
        return 0
    return len(getattr(config.option, "tx", None) or [])


def _bench_options(config: pytest.Config) -> dict:
    """The --bench-* options of this invocation, for the run's provenance."""
    return {name: getattr(config.option, name) for name in vars(config.option)
            if name.startswith("bench_")}


def pytest_configure(config: pytest.Config) -> None:
    folder = config.getoption("bench_methods") or os.environ.get("BENCH_METHODS")
    os.environ["BENCH_METHODS"] = str(Path(folder or config.rootpath / "methods").resolve())
    if (not _is_controller(config) or config.getoption("bench_no_db")
            or any(getattr(config.option, name, False) for name in _NO_RUN_OPTIONS)):
        return
    path = Path(config.getoption("bench_db") or config.rootpath / "results.duckdb")
    existed = path.exists()
    try:
        store = Store(path)  # fails fast, before any worker starts or any case runs
    except (StoreLockedError, SchemaError) as exc:
        raise pytest.UsageError(str(exc)) from None
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    run = ({"run_id": run_id, "started_at": dt.datetime.now(), "workers": _workers(config),
            "pytest": pytest.__version__, "options": _bench_options(config)}
           | provenance.collect(config.rootpath, config.getoption("bench_device")))
    config.pluginmanager.register(ResultWriter(store, run, created=not existed),
                                  "bench-result-writer")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("bench_strict_methods"):
        return
    broken = [m for m in discover(os.environ["BENCH_METHODS"]).values() if not m.ok]
    if broken:
        lines = "\n".join(f"  {m.name}: {m.error.splitlines()[-1]}" for m in broken)
        raise pytest.UsageError(f"broken method files (--bench-strict-methods):\n{lines}")


class ResultWriter:
    """Lives on the controller only: writes each case's row as its report arrives. The run is
    recorded with its first case, so a session that runs no case (pytest tests/) leaves no trace."""

    def __init__(self, store: Store, run: dict, created: bool) -> None:
        self.store, self.run, self.run_id, self.written = store, run, run["run_id"], 0
        self.created, self.started = created, False
        self.unwritable: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rows = [value for name, value in report.user_properties if name == ROW_PROPERTY]
        if rows:
            row = json.loads(rows[-1]) | {"run_id": self.run_id}
        elif report.failed and report.when == "???":  # xdist's report for a test whose worker died
            row = {"run_id": self.run_id, "nodeid": report.nodeid, "status": "error",
                   "case_id": report.nodeid.partition("[")[2].rstrip("]") or None,
                   "error": f"the worker process running this test crashed\n{report.longreprtext}"}
        else:
            return
        if not self.started:
            self.store.start_run(self.run)
            self.started = True
        try:
            self.store.write_case(row)
        except duckdb.Error as exc:
            # A row the database refuses (e.g. a value of the wrong type from a suite's extra
            # fields) still leaves a trace: the case's identity with status error and the reason.
            self.unwritable.append(f"{row['nodeid']}: {exc}")
            keep = {k: str(row[k]) for k in ("run_id", "nodeid", "case_id", "method", "dataset",
                                             "arch", "worker") if row.get(k) is not None}
            self.store.write_case(keep | {"status": "error",
                                          "error": f"row not storable: {exc}\n{row.get('error') or ''}"})
        self.written += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.started:
            self.store.finish_run(self.run_id, dt.datetime.now(), int(exitstatus))

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.written:
            terminalreporter.write_sep("-", f"bench: {self.written} case rows written to "
                                       f"{self.store.path} (run {self.run_id})")
        if 0 < self.store.migrated_from < SCHEMA_VERSION:
            terminalreporter.write_line(f"bench: {self.store.path} was upgraded from schema version "
                                        f"{self.store.migrated_from} to {SCHEMA_VERSION}")
        for line in self.unwritable:
            terminalreporter.write_line(f"bench: row stored as error, database refused it: {line}",
                                        red=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.store.close()
        if self.created and not self.started:  # opened only to hold the lock: remove it again
            for leftover in (self.store.path, Path(f"{self.store.path}.wal")):
                leftover.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def bench_env(pytestconfig: pytest.Config) -> BenchEnv:
    """Per-process state shared by all cases: the pretrained zoo and the discovered methods."""
    workers = getattr(pytestconfig, "workerinput", {}).get("workercount", 1)
    device = pytestconfig.getoption("bench_device")
    if workers > 1:  # share the cores instead of oversubscribing them; rows record the count
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    return BenchEnv(
        zoo=Zoo(pytestconfig.getoption("bench_cache"), pytestconfig.getoption("bench_data"),
                device),
        methods_dir=os.environ["BENCH_METHODS"], device=device,
        measure_latency=not pytestconfig.getoption("bench_no_latency"), parallel=workers > 1,
    )


@pytest.fixture
def bench_record(request: pytest.FixtureRequest) -> dict:
    """A dict whose entries are stored with this case's row (column `extra`, JSON)."""
    return request.node.stash.setdefault(EXTRA, {})


@pytest.fixture
def bench_case(request: pytest.FixtureRequest, bench_env: BenchEnv):
    """Run a Case and return its row; the row is recorded whatever the test's outcome."""

    def run(case: Case) -> dict:
        row = request.node.stash.setdefault(ROW, {})
        row["started_at"] = dt.datetime.now().isoformat()
        start = time.perf_counter()
        try:
            return run_case(case, bench_env, row)
        except DatasetUnavailableError as exc:
            pytest.skip(str(exc))
        finally:
            row["duration_s"] = time.perf_counter() - start

    return run


def _case_of(item: pytest.Item) -> Case | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((v for v in params.values() if isinstance(v, Case)), None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    case = _case_of(item)
    if case is None or not (report.when == "call" or (report.when == "setup" and not report.passed)):
        return report
    row = dict(item.stash.get(ROW, {}))
    row.setdefault("case_id", case.id)
    for key, value in asdict(case).items():
        row.setdefault(key, value)
    row["nodeid"] = item.nodeid
    row["worker"] = getattr(item.config, "workerinput", {}).get("workerid")
    if report.when == "setup":
        row["status"] = "skipped" if report.skipped else "error"
    else:
        row["status"] = report.outcome
    if report.skipped and isinstance(report.longrepr, tuple):
        row["error"] = report.longrepr[2]
    elif report.failed:
        row["error"] = report.longreprtext
    extra = item.stash.get(EXTRA, None)
    if extra:
        row["extra"] = extra
    report.user_properties.append((ROW_PROPERTY, json.dumps(row, default=str)))
    return report
