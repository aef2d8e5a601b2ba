"""The embedded grid on a deeper net: every method on MNIST-5k with the CIFAR ResNet-20.

Finetuning is one epoch (recipe finetune-small-fast) so that the grid runs in well under an hour
on 2 CPU cores: `pytest suites/ --bench-suite resnet20`.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

pytestmark = pytest.mark.bench_suite("resnet20")


CASES = grid.cases(datasets=["mnist5k"], archs=["resnet20"], finetune="finetune-small-fast")


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
