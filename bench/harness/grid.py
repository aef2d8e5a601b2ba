"""Parametrisation of suites: the grid of (method, dataset, arch, ratio, seed) cases."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterable

import pytest

from bench.harness.case import DEFAULT_PROTOCOL, Case, canonical_protocol
from bench.methods import discover

DEFAULT_RATIOS = (1, 2, 4, 8, 16, 32)
DEFAULT_SEEDS = (0, 1, 2)
PROTOCOLS_VARIABLE = "BENCH_PROTOCOLS"  # set by --bench-protocol (';'-separated)


def method_names(folder: str | None = None, kinds: Iterable[str] | None = None,
                 task: str | None = None) -> list[str]:
    """Every method file's name (of the given KINDs and able to run `task`, if given), broken
    ones included: their cases fail with the reason."""
    found = discover(folder or os.environ.get("BENCH_METHODS"))
    return sorted(n for n, m in found.items()
                  if not m.ok or ((kinds is None or m.kind in kinds)
                                  and (task is None or task in m.tasks)))


def cases(
    methods: Iterable[str] | None = None,
    datasets: Iterable[str] = ("mnist5k",),
    archs: Iterable[str] = ("lenet5",),
    ratios: Iterable[float] = DEFAULT_RATIOS,
    seeds: Iterable[int] = DEFAULT_SEEDS,
    marks: Iterable[pytest.MarkDecorator] = (),
    kinds: Iterable[str] = ("unstructured",),
    **fixed,
) -> list:
    """pytest.param for every combination, with ids like magnitude_global-mnist5k-lenet5-r4-s0;
    `fixed` sets the other Case fields (recipes, pretrain_seed...) for all of them. Without
    `methods`, every method file of the `kinds` (the ShrinkBench grids: masks at any ratio; N:M
    patterns fix their own sparsity and channel methods have their own suite)."""
    from bench.lm.corpus import is_corpus

    datasets = list(datasets)
    task = "lm" if all(is_corpus(d) for d in datasets) else "classification"
    names = list(methods) if methods is not None else method_names(kinds=kinds, task=task)
    grid = itertools.product(names, datasets, archs, ratios, seeds)
    made = under_protocols([Case(m, d, a, r, s, **fixed) for m, d, a, r, s in grid])
    return [pytest.param(c, id=c.id, marks=list(marks)) for c in made]


def chosen_protocols() -> list[str]:
    """The protocols named with --bench-protocol (empty: the suites' own)."""
    return [canonical_protocol(p) for p in os.environ.get(PROTOCOLS_VARIABLE, "").split(";") if p]


def under_protocols(cases: list[Case], protocols: list[str] | None = None) -> list[Case]:
    """`cases` under the named protocols: a one-shot case becomes one case per protocol, a case
    that names another protocol stays only if that protocol (or its name) is named."""
    protocols = chosen_protocols() if protocols is None else protocols
    if not protocols:
        return cases
    out: dict[str, Case] = {}
    for case in cases:
        if case.protocol == DEFAULT_PROTOCOL:
            variants = [dataclasses.replace(case, protocol=p) for p in protocols]
        else:
            named = case.protocol in protocols or case.protocol.partition(":")[0] in protocols
            variants = [case] if named else []
        for variant in variants:
            out.setdefault(variant.key, variant)
    return list(out.values())
