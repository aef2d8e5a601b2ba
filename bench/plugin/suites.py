"""Named suites: `@pytest.mark.bench_suite("name")` cases run only when --bench-suite selects them."""

from __future__ import annotations

import pytest

DEFAULT_SUITE = "default"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bench").addoption(
        "--bench-suite", action="append", default=None, metavar="NAME",
        help="run the named suite(s) in suites/ (repeatable; 'all' for every suite; "
             f"default: {DEFAULT_SUITE})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bench_suite(name): the named benchmark suite of a case")


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
