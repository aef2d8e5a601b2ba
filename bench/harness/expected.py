"""Training steps a case is expected to take, known before it runs (for progress up front)."""

from __future__ import annotations

import math

from bench.harness.case import Case
from bench.training import recipes
from bench.training.recipes import Recipe


def _steps(recipe: Recipe, train_size: int) -> int:
    """Optimizer steps of a whole recipe on `train_size` examples."""
    return recipe.epochs * -(-train_size // recipe.batch_size)


def expected_steps(case: Case) -> int | None:
    """Optimizer steps after pretraining that the case's protocol takes (pretraining, cached and
    shared, is left out; IMP rounds use keep = 1 / ratio, so a lower bound); None if unknown."""
    from bench import data
    from bench.harness.protocols import resolve, split

    if case.task != "classification":  # language models train only to recover
        try:
            protocol, options = resolve(case.protocol)
        except Exception:
            return None
        return options["steps"] if protocol.__name__ == "recover" and case.ratio > 1 else 0
    try:
        ds = data.get(case.dataset)
        pre = recipes.get(case.pretrain or ds.pretrain_recipe_for(case.arch))
        ft = recipes.get(case.finetune or ds.finetune_recipe)
        _, options = resolve(case.protocol)
    except Exception:
        return None
    name = split(case.protocol)[0]
    pretrain, finetune, pruned = _steps(pre, ds.train_size), _steps(ft, ds.train_size), case.ratio > 1
    if name == "at_init":
        return pretrain
    if name == "scratch":
        return pretrain if pruned else 0
    if name == "imp":
        if not pruned:
            return 0
        fraction = options["fraction"]
        n = max(1, math.ceil(math.log(1 / case.ratio) / math.log(1 - fraction) - 1e-9))
        if options["rewind"] == "finetune":
            return n * finetune
        step = options["rewind_step"]
        step = -(-ds.train_size // pre.batch_size) if step == "epoch" else int(step)
        return n * max(0, pretrain - step)  # rewind weights or lr: each round from `step` on
    return finetune if pruned else 0  # oneshot, gmp and any protocol that finetunes once


def total_steps(cases: list[Case]) -> tuple[int, int]:
    """(steps of the cases whose count is known, number of cases whose count is not)."""
    counts = [expected_steps(c) for c in cases]
    return sum(c for c in counts if c is not None), sum(c is None for c in counts)
