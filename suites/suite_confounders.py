"""Confounders of the paper: other pretrained weights, or another finetuning recipe, with the
method held fixed. `python -m bench report --view ranks --by pretrain_seed` (or finetune_recipe)
shows whether the ranking of methods changes between conditions (Kendall's tau).

Run with `pytest suites/ --bench-suite confounders`.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

pytestmark = pytest.mark.bench_suite("confounders")

RATIOS = (2, 4, 8, 16, 32)
WEIGHTS = [c for ps in (0, 1, 2)
           for c in grid.cases(ratios=RATIOS, seeds=(0,), pretrain_seed=ps)]
RECIPES = [c for ft in ("finetune-small", "finetune-small-long")
           for c in grid.cases(ratios=RATIOS, seeds=(0,), finetune=ft)]


@pytest.mark.parametrize("case", WEIGHTS)
def test_pretrained_weights(case, bench_case):
    assert_sound(case, bench_case(case))


@pytest.mark.parametrize("case", RECIPES)
def test_finetune_recipe(case, bench_case):
    assert_sound(case, bench_case(case))
