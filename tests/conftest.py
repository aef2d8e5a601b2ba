"""Shared fixtures of the test suite, and its scheduling over xdist workers."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_DB_VARIABLE = "PRUNEBENCH_TESTS_DB"  # the session's database, for its xdist workers
_OWN = pytest.StashKey[tuple[Path, str | None]]()  # the session's own folder, the $BENCH_CACHE before


@pytest.hookimpl(tryfirst=True)  # before the bench plugin reads its options
def pytest_configure(config: pytest.Config) -> None:
    """The tests' own results database and weights cache, in a temporary folder, never the user's
    ./results.duckdb or $BENCH_CACHE ($BENCH_TEST_CACHE names a cache the tests may fill and keep).
    xdist workers inherit the environment from the controller, and take the options from it."""
    if hasattr(config, "workerinput"):
        if getattr(config.option, "bench_db", None) is None:
            config.option.bench_db = os.environ.get(_DB_VARIABLE)
        if getattr(config.option, "bench_cache", None) is None:
            config.option.bench_cache = os.environ.get("BENCH_CACHE")
        return
    own = Path(tempfile.mkdtemp(prefix="prunebench-tests-"))
    config.stash[_OWN] = own, os.environ.get("BENCH_CACHE")
    if getattr(config.option, "bench_db", None) is None:
        config.option.bench_db = str(own / "results.duckdb")
    cache = os.environ.get("BENCH_TEST_CACHE") or str(own / "cache")
    if getattr(config.option, "bench_cache", None) is None:
        config.option.bench_cache = cache
    os.environ["BENCH_CACHE"] = config.option.bench_cache or cache
    os.environ[_DB_VARIABLE] = config.option.bench_db


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN not in config.stash:
        return
    own, before = config.stash[_OWN]
    shutil.rmtree(own, ignore_errors=True)
    os.environ.pop(_DB_VARIABLE, None)
    if before is None:
        os.environ.pop("BENCH_CACHE", None)
    else:
        os.environ["BENCH_CACHE"] = before


@pytest.fixture(scope="session")
def shared_cache() -> Path:
    """The pretrained-model cache shared by the tests of one session (its own, see pytest_configure)."""
    return Path(os.environ["BENCH_CACHE"])


if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    # Two workers on two cores: one thread each, or they fight over the cores.
    torch.set_num_threads(1)


def _synthetic_row(method: str, ratio: float, seed: int, top1: float, **more) -> dict:
    """A passed case row with plausible figures (compression = ratio, speedup = ratio / 2 + 0.5)."""
    return {"nodeid": f"suite_x.py::test_prune[{method}-toy-net-r{ratio:g}-s{seed}]",
            "case_id": f"{method}-toy-net-r{ratio:g}-s{seed}", "status": "passed",
            "method": method, "method_hash": "0123456789ab", "dataset": "toy", "arch": "net",
            "ratio": ratio, "seed": seed, "pretrained_key": "pk", "recipe_key": "rk",
            "pretrain_recipe": "pretrain-small", "finetune_recipe": "finetune-small",
            "pretrain_seed": 0, "include_classifier": False, "calibration_size": 128,
            "top1": top1, "top1_dense": 0.9, "params_total": 1000,
            "params_nonzero": round(1000 / ratio), "compression": float(ratio),
            "macs_total": 2000, "speedup_theoretical": ratio / 2 + 0.5,
            "started_at": "2024-01-01T00:00:00",
            "layers": [{"layer": "fc", "kind": "Linear", "params": 1000,
                        "nonzero": round(1000 / ratio), "sparsity": 1 - 1 / ratio,
                        "macs": 2000, "macs_nonzero": round(2000 / ratio)}],
            "epochs": [{"epoch": 0, "train_loss": 0.5, "train_top1": 0.8, "lr": 0.01}]} | more


@pytest.fixture
def case_row():
    """Factory: case_row(method, ratio, seed, top1, **columns) -> a passed case row for a Store."""
    return _synthetic_row


@pytest.fixture
def make_results_db(tmp_path):
    """Factory: make_results_db(name, {run_id: [rows]}, started={run_id: iso time}) -> Path."""
    from bench.results.store import Store

    def make(name: str, runs: dict[str, list[dict]], started: dict[str, str] | None = None) -> Path:
        path = tmp_path / name
        store = Store(path)
        for i, (run_id, rows) in enumerate(runs.items()):
            when = (started or {}).get(run_id, f"2024-01-0{i + 1}T00:00:00")
            store.start_run({"run_id": run_id, "started_at": when, "host": "testhost"})
            for row in rows:
                store.write_case(row | {"run_id": run_id})
            store.finish_run(run_id, when, 0)
        store.close()
        return path

    return make


# A module that declares `pytestmark = pytest.mark.xdist_group("NAME")` (read from its text, as
# bench.plugin.suites reads suite marks): its tests form one unit of work for one xdist worker.
_GROUP = re.compile(r"""^pytestmark\b.*xdist_group\(\s*["']([\w.-]+)["']""", re.MULTILINE)


@functools.cache
def _group_of(path: Path) -> str | None:
    """The xdist group a test module declares, or None."""
    found = _GROUP.search(path.read_text(errors="replace")) if path.is_file() else None
    return found.group(1) if found else None


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # an xdist hook: unknown without it
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under `-n N` (xdist's `load`), the tests of a module marked `xdist_group` go to one worker,
    so its expensive module fixture (a suite run, a case) is built once, not on every worker; every
    other test is scheduled on its own. (xdist's own `--dist loadgroup` groups nothing under pytest
    9, which derives node ids from their structure: the `@group` suffix it sets is lost.)"""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        """xdist's scope scheduler, whose scope is the module for grouped modules, else the test;
        larger units first, then in collection order (the `slow` tests are collected first)."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            group = _group_of(config.rootpath / module)
            return f"group:{group}" if group else nodeid

    return ModuleGroups(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` (they start pytest or Python processes) first, so that the workers share
    them out at the start instead of one worker finishing the last of them alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
