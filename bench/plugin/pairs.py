"""Method and protocol pairs checked at the door: a case whose protocol string has a bad option
is refused, and a case whose method's KIND its protocol cannot take (a channel method under
imp's weight rewinding) is deselected with the reason, before any case runs."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from bench.harness.protocols import ProtocolOptionError, refusal
from bench.methods import discover
from bench.plugin.items import case_of

_DROPPED = pytest.StashKey[Counter]()  # (method, protocol, reason) -> cases deselected
_FROM_WORKERS = pytest.StashKey[list]()  # on the xdist controller: the lines a worker sent
_WORKER_KEY = "bench_deselected_pairs"


@pytest.hookimpl(trylast=True)  # after -k, -m and suites: only what was selected is checked
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    methods = discover(os.environ.get("BENCH_METHODS"))
    reasons: dict[tuple[str, str], str] = {}
    dropped: Counter = Counter()
    keep, drop = [], []
    for item in items:
        case = case_of(item)
        method = methods.get(case.method) if case is not None else None
        if method is None or not method.ok:  # not a case, or a broken method: it fails with its error
            keep.append(item)
            continue
        pair = (method.kind, case.protocol)
        if pair not in reasons:
            try:
                reasons[pair] = refusal(*pair)
            except ProtocolOptionError as exc:
                raise pytest.UsageError(f"{item.nodeid}: protocol {case.protocol!r}: {exc}") from None
        if reasons[pair]:
            dropped[(case.method, case.protocol, reasons[pair])] += 1
            drop.append(item)
        else:
            keep.append(item)
    config.stash[_DROPPED] = dropped
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None and dropped:  # an xdist worker: the controller prints them
        workeroutput[_WORKER_KEY] = dropped_lines(config)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def dropped_lines(config: pytest.Config) -> list[str]:
    """One line per method and protocol deselected because they cannot run together."""
    return [f"deselected {n} cases of {method} under {protocol}: {reason}"
            for (method, protocol, reason), n in sorted(config.stash.get(_DROPPED, Counter()).items())]


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    return [f"bench: {line}" for line in dropped_lines(config)]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """On the xdist controller: the pairs a worker deselected (every worker collects the same)."""
    lines = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if lines:
        node.config.stash[_FROM_WORKERS] = lines


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    for line in config.stash.get(_FROM_WORKERS, []):
        terminalreporter.write_line(f"bench: {line}")
