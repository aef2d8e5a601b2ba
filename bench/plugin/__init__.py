"""The pytest plugin: its options and hooks. Fixtures, the result writer and named suites live
beside it in this package."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.harness import row as rows
from bench.methods import discover
from bench.plugin import results_db
from bench.plugin.items import EXTRA, RESUMED, ROW, case_of
from bench.plugin.writer import RESUMED_PROPERTY, ROW_PROPERTY
from bench.results import provenance
from bench.settings import add_options

# named suites (--bench-suite) and the fixtures come with the plugin
# (the collection filters that run last, trylast, run in the reverse of this order: shard, pairs,
# then resume, which opens the results database once a case is left to run)
# in an order where none imports one listed after it (pytest rewrites their asserts on import)
pytest_plugins = ["bench.plugin.suites", "bench.plugin.devices", "bench.plugin.fixtures",
                  "bench.plugin.resume", "bench.plugin.pairs", "bench.plugin.shard",
                  "bench.plugin.progress", "bench.plugin.door"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "pruning benchmark")
    group.addoption("--bench-db", default=None, metavar="PATH",
                    help="results database (default: results.duckdb in the rootdir)")
    add_options(group.addoption)
    group.addoption("--bench-methods", default=None, metavar="DIR",
                    help="folder of method files (default: methods/ in the rootdir)")
    group.addoption("--bench-device", default="cpu", metavar="DEV",
                    help="torch device the cases run on (default: cpu)")
    group.addoption("--bench-no-latency", action="store_true",
                    help="skip latency measurement (faster; latency columns stay empty)")
    group.addoption("--bench-save-models", default=None, metavar="DIR",
                    help="keep each case's final model as DIR/<case_key>.pt, weights and masks "
                         "(bench.structured.io.load reads it; rows get model_path, model_sha256)")
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
    run = ({"run_id": provenance.new_id(), "workers": _workers(config),
            "pytest": pytest.__version__, "options": _bench_options(config),
            "grid": config.getoption("bench_grid"), "shard": config.getoption("bench_shard")}
           | provenance.collect(config.rootpath, config.getoption("bench_device")))
    results_db.plan(config, run)
    if _workers(config):
        # xdist: the workers collect, so the controller cannot know whether a case will run; it
        # opens the database now, before any worker starts (a session in one process opens it
        # once collection has found a case to run: bench.plugin.resume)
        results_db.open_writer(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("bench_strict_methods"):
        return
    broken = [m for m in discover(os.environ["BENCH_METHODS"]).values() if not m.ok]
    if broken:
        lines = "\n".join(f"  {m.name}: {m.error.splitlines()[-1]}" for m in broken)
        raise pytest.UsageError(f"broken method files (--bench-strict-methods):\n{lines}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    case = case_of(item)
    if case is None or not (report.when == "call" or (report.when == "setup" and not report.passed)):
        return report
    if RESUMED in item.stash:  # skipped by resume: no row, so the passed row keeps standing
        report.user_properties.append((RESUMED_PROPERTY, item.stash[RESUMED]))
        return report
    row = rows.identity(case) | dict(item.stash.get(ROW, {}))
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
