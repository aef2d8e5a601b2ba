"""Fixtures of the suites: the per-process bench state, running a case, extra fields of a row."""

from __future__ import annotations

import os

import pytest
import torch

from bench.data import DatasetUnavailableError
from bench.harness import threads
from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.runner import execute
from bench.harness.saved_models import ModelFolderError, check_folder
from bench.metrics.macs import load_counter
from bench.plugin.devices import device_of
from bench.plugin.items import EXTRA, ROW
from bench.training.zoo import Zoo


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bench").addoption(
        "--bench-threads", default=threads.DEFAULT, metavar="N|auto",
        help="torch intra-op threads per process (a case's row records it): a number, or auto "
             f"for cores / workers (default: {threads.DEFAULT}, the fastest on the embedded "
             "suites; latency is always timed with 1 thread)")


def pytest_configure(config: pytest.Config) -> None:
    try:  # a bad value stops the run before any case, not every case one by one
        threads.per_process(config.getoption("bench_threads"), 1)
        if config.getoption("bench_save_models"):
            check_folder(config.getoption("bench_save_models"))
    except (ValueError, ModelFolderError) as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def bench_env(pytestconfig: pytest.Config) -> BenchEnv:
    """Per-process state shared by all cases: the pretrained zoo and the discovered methods."""
    workers = getattr(pytestconfig, "workerinput", {}).get("workercount", 1)
    device = device_of(pytestconfig)  # the exact device, e.g. cuda:1 for the second worker
    # share the cores instead of oversubscribing them, serial or not; rows record the count
    torch.set_num_threads(threads.per_process(pytestconfig.getoption("bench_threads"), workers))
    load_counter()  # once per process (each xdist worker), not in the first case's seconds_count
    return BenchEnv(
        zoo=Zoo(pytestconfig.getoption("bench_cache"), pytestconfig.getoption("bench_data"),
                device),
        methods_dir=os.environ["BENCH_METHODS"], device=device,
        measure_latency=not pytestconfig.getoption("bench_no_latency"), parallel=workers > 1,
        save_models=pytestconfig.getoption("bench_save_models"),
    )


@pytest.fixture
def bench_record(request: pytest.FixtureRequest) -> dict:
    """A dict whose entries are stored with this case's row (column `extra`, JSON)."""
    return request.node.stash.setdefault(EXTRA, {})


@pytest.fixture
def bench_case(request: pytest.FixtureRequest, bench_env: BenchEnv):
    """Run a Case and return its row; the row is recorded whatever the test's outcome."""

    def run(case: Case) -> dict:
        row, error = execute(case, bench_env, request.node.stash.setdefault(ROW, {}))
        if isinstance(error, DatasetUnavailableError):
            pytest.skip(str(error))
        if error is not None:  # pytest reports it (and its status decides the row's)
            raise error
        return row

    return run
