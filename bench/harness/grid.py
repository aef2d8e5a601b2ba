"""Parametrisation of suites: the grid of (method, dataset, arch, ratio, seed) cases."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable

import pytest

from bench.harness.case import Case
from bench.methods import discover

DEFAULT_RATIOS = (1, 2, 4, 8, 16, 32)
DEFAULT_SEEDS = (0, 1, 2)


def method_names(folder: str | None = None) -> list[str]:
    """Every method file's name, broken ones included (their cases fail with the reason)."""
    return sorted(discover(folder or os.environ.get("BENCH_METHODS")))


def cases(
    methods: Iterable[str] | None = None,
    datasets: Iterable[str] = ("mnist5k",),
    archs: Iterable[str] = ("lenet5",),
    ratios: Iterable[float] = DEFAULT_RATIOS,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    marks: Iterable[pytest.MarkDecorator] = (),
    **fixed,
) -> list:
    """pytest.param for every combination, with ids like magnitude_global-mnist5k-lenet5-r4-s0;
    `fixed` sets the other Case fields (recipes, pretrain_seed...) for all of them."""
    names = list(methods) if methods is not None else method_names()
    grid = itertools.product(names, datasets, archs, ratios, seeds)
    return [pytest.param(c, id=c.id, marks=list(marks))
            for c in (Case(m, d, a, r, s, **fixed) for m, d, a, r, s in grid)]
