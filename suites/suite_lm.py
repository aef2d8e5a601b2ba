"""Language models: SmolLM2-135M (embedded, dequantized from its 4-bit GGUF) pruned one-shot by
magnitude, Wanda, SparseGPT and random at 50, 60 and 70% of the block linears, and at 2:4 and
4:8, three calibration seeds each, scored by perplexity on 8 windows of 256 tokens of the
embedded Shakespeare's test text (16 calibration windows of 256 tokens from its other 90%).

    pytest suites/ --bench-suite lm --bench-ratios 2 --bench-seeds 0
    pytest suites/ --bench-suite lm --bench-ratios 2 --bench-seeds 0 -k channel
    python -m bench report --task lm --view realisation --view winners-measured

For mask methods the ratio is over the prunable weights (the linear layers inside the blocks),
as the papers give it: ratio 2 is 50% sparsity; 4 methods x (3 ratios + 2 patterns) x 3 seeds:
60 cases. The channel methods (magnitude, activation-weighted, Taylor and random scores, each
global and per layer) remove MLP channels and key/value head groups until the whole model does
1.5x and 2x fewer MACs per token: 8 methods x 2 ratios x 3 seeds, 48 cases; channel_taylor
is also recovered with 50 steps of next-token training after pruning (protocol recover), 6 cases.
114 cases in all.
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
# Structured: MLP channels and key/value head groups removed physically until the model does
# 1.5x and 2x fewer MACs per token (the whole model: embeddings and head stay), MLP widths kept
# at multiples of 8; measured in prefill and decode tokens per second
CHANNEL = grid.method_names(kinds=("channel",), task="lm")
CASES += grid.cases(methods=CHANNEL, ratios=(1.5, 2), target="macs", round_to=8, **FIXED)
# ... and the best of them recovered with 50 next-token steps, paired with its one-shot cases
RECOVERED = "recover:steps=50"
CASES += grid.cases(methods=["channel_taylor"], ratios=(1.5, 2), target="macs", round_to=8,
                    protocol=RECOVERED, **FIXED)


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
