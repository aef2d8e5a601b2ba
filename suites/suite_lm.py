"""Language models: SmolLM2-135M (embedded, dequantized from its 4-bit GGUF) pruned one-shot by
magnitude, Wanda, SparseGPT and random at 50, 60 and 70% of the block linears, and at 2:4 and
4:8, three calibration seeds each, scored by perplexity on 8 windows of 256 tokens of the
embedded Shakespeare's test text (16 calibration windows of 256 tokens from its other 90%).

    pytest suites/ --bench-suite lm --bench-ratios 2 --bench-seeds 0
    python -m bench report --task lm

The ratio is over the prunable weights (the linear layers inside the blocks), as the papers give
it: ratio 2 is 50% sparsity. 4 methods x (3 ratios + 2 patterns) x 3 seeds: 60 cases.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

pytestmark = pytest.mark.bench_suite("lm")

METHODS = ["magnitude_layer", "wanda", "sparsegpt", "random"]
FIXED = {"datasets": ["shakespeare"], "archs": ["smollm2_135m"], "seeds": (0, 1, 2),
         "calibration_size": 16}
RATIOS = (2, 2.5, 10 / 3)  # 50, 60 and 70% of the prunable weights pruned

CASES = grid.cases(methods=METHODS, ratios=RATIOS, **FIXED)
CASES += [case for pattern in ("2:4", "4:8")
          for case in grid.cases(methods=METHODS, ratios=(2,), pattern=pattern, **FIXED)]


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
