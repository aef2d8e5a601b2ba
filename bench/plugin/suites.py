"""Named suites: `@pytest.mark.bench_suite("name")` cases run only when --bench-suite selects them;
--bench-protocol runs a suite's cases under other protocols."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench.harness.grid import PROTOCOLS_VARIABLE
from bench.harness.protocols import PROTOCOLS, ProtocolOptionError, resolve, split
from bench.suggest import unknown

DEFAULT_SUITE = "default"
_MARK = re.compile(r"""bench_suite\(\s*["']([\w.-]+)["']""")


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
    chosen = config.getoption("bench_suite") or []
    valid = {"all", DEFAULT_SUITE} | suite_names(config)
    for name in chosen:
        if name not in valid:
            raise pytest.UsageError(unknown("--bench-suite", name, valid))
    protocols = config.getoption("bench_protocol") or []
    for spec in protocols:
        if split(spec)[0] not in PROTOCOLS:
            raise pytest.UsageError(unknown("--bench-protocol", spec, PROTOCOLS.names()))
        try:
            resolve(spec)  # every option known and its value usable, before any case runs
        except ProtocolOptionError as exc:
            raise pytest.UsageError(f"--bench-protocol {spec!r}: {exc}") from None
    # read by bench.harness.grid.cases when the suite modules are collected (workers included)
    os.environ[PROTOCOLS_VARIABLE] = ";".join(protocols)


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
