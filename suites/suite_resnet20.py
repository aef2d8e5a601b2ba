"""The embedded grid on a deeper net: every method on MNIST-5k with the CIFAR ResNet-20.

Run with `pytest suites/ --bench-suite resnet20` (about an hour on 2 CPU cores).
"""

import pytest

from bench import grid
from bench.checks import assert_sound

pytestmark = pytest.mark.bench_suite("resnet20")


@pytest.mark.parametrize("case", grid.cases(datasets=["mnist5k"], archs=["resnet20"]))
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
