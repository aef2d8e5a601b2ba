"""Named suites: `@pytest.mark.bench_suite("name")` cases run only when --bench-suite selects them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.suggest import unknown

DEFAULT_SUITE = "default"
_MARK = re.compile(r"""bench_suite\(\s*["']([\w.-]+)["']""")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bench").addoption(
        "--bench-suite", action="append", default=None, metavar="NAME",
        help="run the named suite(s) in suites/ (repeatable; 'all' for every suite; "
             f"default: {DEFAULT_SUITE})")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bench_suite(name): the named benchmark suite of a case")
    chosen = config.getoption("bench_suite") or []
    valid = {"all", DEFAULT_SUITE} | suite_names(config)
    for name in chosen:
        if name not in valid:
            raise pytest.UsageError(unknown("--bench-suite", name, valid))


def suite_names(config: pytest.Config) -> set[str]:
    """The suite names marked in the suite files: rootdir/suites and the paths given to pytest."""
    roots = [config.rootpath / "suites"] + [Path(a.split("::")[0]) for a in config.args]
    files = {f for r in roots if r.exists() for f in ([r] if r.is_file() else r.rglob("*.py"))}
    return {name for f in files for name in _MARK.findall(f.read_text(errors="replace"))}


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
