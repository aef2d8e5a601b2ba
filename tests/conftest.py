"""Shared fixtures of the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """A pretrained-model cache shared by the tests of one process ($BENCH_CACHE if set)."""
    explicit = os.environ.get("BENCH_CACHE")
    return Path(explicit) if explicit else tmp_path_factory.mktemp("bench-cache")


if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    # Two workers on two cores: one thread each, or they fight over the cores.
    torch.set_num_threads(1)
