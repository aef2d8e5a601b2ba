"""Structured pruning beside unstructured: channel methods (removed physically) and magnitude
pruning on MNIST-5k with ResNet-20 and LeNet-5, at 2x and 4x fewer parameters and 2x and 4x
fewer MACs, three seeds, one epoch of finetuning (finetune-small-fast).

    pytest suites/ --bench-suite structured -n 2
    python -m bench report --view realisation --view winners-measured

Every row carries measured speedups at batch 1, 32 and 256 beside the theoretical one. The
batch-norm methods (channel_bn*) are left out on LeNet-5, which has no batch norm to score:
144 ResNet-20 cases and 120 LeNet-5 cases.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound
from bench.methods import discover

pytestmark = pytest.mark.bench_suite("structured")

CHANNEL = sorted(n for n, m in discover().items() if m.ok and m.kind == "channel")
MASK = ["magnitude_global", "magnitude_layer"]
FIXED = {"datasets": ["mnist5k"], "ratios": (2, 4), "seeds": (0, 1, 2),
         "finetune": "finetune-small-fast"}

CASES = [case
         for target in ("params", "macs")
         for arch, methods in (("resnet20", CHANNEL + MASK),
                               ("lenet5", [m for m in CHANNEL if not m.startswith("channel_bn")]
                                + MASK))
         for case in grid.cases(methods=methods, archs=[arch], target=target, **FIXED)]


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
