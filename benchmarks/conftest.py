"""Shared set-up of the speed benchmarks (pytest-benchmark): one torch thread, one model cache,
the medians that are compared with each other, and those ratios printed at the end of the session.

Run: pytest benchmarks/ --benchmark-only (see benchmarks/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from bench import models

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent

MEDIANS = pytest.StashKey[dict[str, float]]()
# Ratios of medians printed after pytest-benchmark's table (and stored in its JSON as "ratios"):
# label, numerator, denominator, as kept by the `keep_median` fixture.
RATIOS = (
    ("harness / bare loop", "case-harness", "case-bare-loop"),
    ("masked step / dense step", "step-masked", "step-dense"),
    ("torch.nn.utils.prune step / dense step", "step-torch-prune", "step-dense"),
    ("wanda bench / reference (unstructured)", "wanda-bench-u", "wanda-reference-u"),
    ("wanda bench / reference (2:4)", "wanda-bench-nm", "wanda-reference-nm"),
    ("sparsegpt bench / reference (unstructured)", "sparsegpt-bench-u", "sparsegpt-reference-u"),
    ("sparsegpt bench / reference (2:4)", "sparsegpt-bench-nm", "sparsegpt-reference-nm"),
)


def _only_benchmarks(config: pytest.Config) -> bool:
    """True when every path this session was asked to run lies in benchmarks/."""
    paths = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
             for arg in config.args]
    return bool(paths) and all(p == BENCHMARKS or BENCHMARKS in p.parents for p in paths)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # The benchmarks write no case rows: do not open (and lock) the results database that the
    # bench plugin of the root conftest.py would otherwise open for the session.
    if _only_benchmarks(config) and hasattr(config.option, "bench_no_db"):
        config.option.bench_no_db = True


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Every benchmark runs on one torch thread (the machine is shared and noisy)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pretrained-model cache shared by the benchmarks: $BENCH_CACHE if set, else a temporary dir."""
    found = os.environ.get("BENCH_CACHE")
    return Path(found).expanduser() if found else tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def resnet50(one_thread) -> nn.Module:
    """A torchvision ResNet-50 for 3x224x224 inputs and 1000 classes, seeded random weights."""
    torch.manual_seed(0)
    return models.build("tv_resnet50", (3, 224, 224), 1000).eval()


@pytest.fixture
def keep_median(request: pytest.FixtureRequest) -> Callable[[str, object], None]:
    """keep_median(name, benchmark): remember the benchmark's median for the ratios at the end."""
    medians = request.config.stash.setdefault(MEDIANS, {})

    def keep(name: str, benchmark) -> None:
        if benchmark.stats is not None:  # None when timing is off (--benchmark-disable)
            medians[name] = benchmark.stats.stats.median

    return keep


def _ratios(config: pytest.Config) -> dict[str, float]:
    medians = config.stash.get(MEDIANS, {})
    return {label: medians[top] / medians[bottom] for label, top, bottom in RATIOS
            if top in medians and bottom in medians}


def pytest_benchmark_update_json(config: pytest.Config, benchmarks, output_json: dict) -> None:
    ratios = _ratios(config)
    if ratios:
        output_json["ratios"] = ratios


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    ratios = _ratios(config)
    if not ratios:
        return
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    terminalreporter.write_sep("-", f"ratios of medians (load average {load} on "
                                    f"{os.cpu_count()} cores, benchmarks on 1 torch thread)")
    for label, value in ratios.items():
        terminalreporter.write_line(f"{label} = {value:.3f}")
