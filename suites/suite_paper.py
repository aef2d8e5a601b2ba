"""The paper's grid: CIFAR-10 with ResNet-56 and the CIFAR VGG, ImageNet with ResNet-18, every
method, ratios 1 to 32, three seeds, paper-scale recipes (a GPU is advised).

Run with `pytest suites/ --bench-suite paper --bench-data DIR --bench-device cuda`; cases whose
data are missing are skipped with the files to put where.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

pytestmark = pytest.mark.bench_suite("paper")

CASES = (grid.cases(datasets=["cifar10"], archs=["resnet56", "cifar_vgg"], seeds=(0, 1, 2))
         + grid.cases(datasets=["imagenet"], archs=["tv_resnet18"], seeds=(0, 1, 2)))


@pytest.mark.parametrize("case", CASES)
def test_prune(case, bench_case):
    assert_sound(case, bench_case(case))
