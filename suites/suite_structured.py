"""Structured pruning beside unstructured: channel methods (removed physically), N:M patterns
and magnitude pruning on MNIST-5k with ResNet-20 and LeNet-5, at 2x and 4x fewer parameters and 2x and 4x
fewer MACs, three seeds, one epoch of finetuning (finetune-small-fast).

    pytest suites/ --bench-suite structured -n 2
    python -m bench report --view realisation --view winners-measured

Every row carries measured speedups at batch 1, 32 and 256 beside the theoretical one. The
batch-norm methods (channel_bn*) are left out on LeNet-5, which has no batch norm to score:
144 ResNet-20 cases and 120 LeNet-5 cases. The N:M methods (half the weights, in a pattern
that only sparse tensor cores turn into time) run once per seed on each: 12 cases.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound
from bench.methods import discover

pytestmark = pytest.mark.bench_suite("structured")

CHANNEL = sorted(n for n, m in discover().items()
                 if m.ok and m.kind == "channel" and "classification" in m.tasks)
NM = sorted(n for n, m in discover().items() if m.ok and m.kind == "nm")
MASK = ["magnitude_global", "magnitude_layer"]
FIXED = {"datasets": ["mnist5k"], "ratios": (2, 4), "seeds": (0, 1, 2),
         "finetune": "finetune-small-fast"}

CASES = [case
         for target in ("params", "macs")
         for arch, methods in (("resnet20", CHANNEL + MASK),
                               ("lenet5", [m for m in CHANNEL if not m.startswith("channel_bn")]
                                + MASK))
         for case in grid.cases(methods=methods, archs=[arch], target=target, **FIXED)]
# N:M patterns fix their own sparsity (2:4 and 4:8 keep half): one ratio, no target
CASES += grid.cases(methods=NM, archs=["resnet20", "lenet5"], **FIXED | {"ratios": (2,)})


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
