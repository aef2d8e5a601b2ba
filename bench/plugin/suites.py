"""Named suites: `@pytest.mark.bench_suite("name")` cases run only when --bench-suite selects them;
--bench-protocol runs a suite's cases under other protocols."""

from __future__ import annotations

import os

import pytest

from bench.harness.grid import PROTOCOLS_VARIABLE
from bench.harness.protocols import PROTOCOLS, split

DEFAULT_SUITE = "default"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bench").addoption(
        "--bench-suite", action="append", default=None, metavar="NAME",
        help="run the named suite(s) in suites/ (repeatable; 'all' for every suite; "
             f"default: {DEFAULT_SUITE})")
    parser.getgroup("bench").addoption(
        "--bench-protocol", action="append", default=None, metavar="NAME",
        help="run the suites' one-shot cases under protocol NAME instead, e.g. imp or "
             "imp:rewind=lr (repeatable: once per protocol; cases that name another protocol "
             "run only if it is named). Protocols: " + ", ".join(PROTOCOLS.names()))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bench_suite(name): the named benchmark suite of a case")
    chosen = config.getoption("bench_protocol") or []
    for spec in chosen:
        if split(spec)[0] not in PROTOCOLS:
            raise pytest.UsageError(f"--bench-protocol {spec}: unknown protocol; valid: "
                                    f"{', '.join(PROTOCOLS.names())}")
    # read by bench.harness.grid.cases when the suite modules are collected (workers included)
    os.environ[PROTOCOLS_VARIABLE] = ";".join(chosen)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = set(config.getoption("bench_suite") or [DEFAULT_SUITE])
    if "all" in chosen:
        return
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("bench_suite")
        (drop if marker and marker.args[0] not in chosen else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
