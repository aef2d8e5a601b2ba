"""The default grid: every method in methods/ on MNIST-5k with LeNet-5, ratios 1 to 32, 3 seeds."""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

pytestmark = pytest.mark.bench_suite("default")


@pytest.mark.parametrize("case", grid.cases(datasets=["mnist5k"], archs=["lenet5"]))
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
