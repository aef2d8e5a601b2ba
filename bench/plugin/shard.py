"""Grids spread over runs and machines: --bench-grid names the grid a run belongs to, and
--bench-shard K/N keeps a deterministic 1/N of the selected cases, chosen by case key. A shard that
draws none of them is a success that says so, not a failed selection."""

from __future__ import annotations

import hashlib

import pytest

from bench.plugin.items import case_of

EMPTY_SHARD = pytest.StashKey[str]()  # set when the selection had cases but this shard drew none
_WORKER_KEY = "bench_empty_shard"  # the same line, from an xdist worker to the controller


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench")
    group.addoption("--bench-grid", default=None, metavar="NAME",
                    help="name of the grid this run belongs to (recorded in runs.grid; "
                         "python -m bench report --grid NAME reads it over runs and machines)")
    group.addoption("--bench-shard", default=None, metavar="K/N",
                    help="run shard K of N (1 <= K <= N): the cases whose key modulo N is K-1; "
                         "N machines with shards 1/N ... N/N run every case exactly once")


def parse_shard(text: str) -> tuple[int, int]:
    """(K, N) from 'K/N', refusing anything but 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--bench-shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/3")
    return k, n


def shard_of(item: pytest.Item, n: int) -> int:
    """The 0-based shard of an item: its case key modulo n (other tests: a hash of the node id),
    so independent of collection order, of -n and of which other cases are selected."""
    case = case_of(item)
    key = case.key if case is not None else hashlib.sha256(item.nodeid.encode()).hexdigest()
    return int(key, 16) % n


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("bench_shard"):
        parse_shard(config.getoption("bench_shard"))  # a bad value fails before anything runs


@pytest.hookimpl(trylast=True)  # after -k, -m and suites: a shard of what they selected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("bench_shard"):
        return
    k, n = parse_shard(config.getoption("bench_shard"))
    keep, drop = [], []
    for item in items:
        (keep if shard_of(item, n) == k - 1 else drop).append(item)
    if drop and not keep:
        config.stash[EMPTY_SHARD] = (f"shard {k}/{n} draws none of the {len(drop)} selected cases; "
                                     "the other shards run them")
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[_WORKER_KEY] = config.stash[EMPTY_SHARD]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """On the xdist controller: a worker's shard drew no case."""
    message = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if message:
        node.config.stash[EMPTY_SHARD] = message


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if EMPTY_SHARD in session.config.stash and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if EMPTY_SHARD in config.stash:
        terminalreporter.write_line(f"bench: {config.stash[EMPTY_SHARD]}")
