"""Protocols compared on one substrate: one-shot, IMP with weight rewinding, gradual magnitude
pruning and pruning at initialisation, with the sanity controls of Frankle et al. 2021.

LeNet-5 on MNIST-5k up to 32x (its reach without the classifier is ~41x), and the LeNet-300-100
MLP with its classifier prunable for the extreme ratios (64x, 256x) where the at-init methods
part ways (layer collapse). Three seeds; pretraining pretrain-small-fast (3 epochs), finetuning
finetune-small-fast (1 epoch), so that the grid runs in well under an hour on 2 cores:
`pytest suites/ --bench-suite protocols -n 2`, then `python -m bench report --view protocols`
(666 cases: 37 min with -n 2 and --bench-no-latency on 2 cores shared with other jobs, load
average 6-20; IMP's rounds are the bulk of it).
IMP runs with the baselines it is defined for (magnitude, and random as its control); its rounds
are shared across ratios through the trajectory cache.
"""

import pytest

from bench.harness import grid
from bench.harness.checks import assert_sound

pytestmark = pytest.mark.bench_suite("protocols")

SEEDS = (0, 1, 2)
RECIPES = {"pretrain": "pretrain-small-fast", "finetune": "finetune-small-fast"}
BASELINES = ["magnitude_global", "gradient_global", "random"]
AT_INIT = ["snip", "grasp", "synflow"]
SETTINGS = [  # (arch, ratios, the highest ratios for the controls, extra case fields)
    ("lenet5", (2, 8, 32), (8, 32), {}),
    ("mlp", (4, 16, 64, 256), (4, 16, 64, 256), {"include_classifier": True}),
]


def _cases(arch, ratios, methods, protocol, **fixed) -> list:
    return grid.cases(methods=methods, datasets=["mnist5k"], archs=[arch], ratios=ratios,
                      seeds=SEEDS, protocol=protocol, **RECIPES, **fixed)


IMP, OTHERS = [], []
for arch, ratios, high, fixed in SETTINGS:
    # IMP first, ratio by ratio: neighbouring cases (sent to different xdist workers) then
    # follow different trajectories, and a higher ratio finds the lower one's rounds cached
    for ratio in ratios:
        IMP += _cases(arch, (ratio,), ["magnitude_global", "random"] if arch == "lenet5"
                      else BASELINES + AT_INIT, "imp", **fixed)
    for protocol in ("oneshot", "gmp", "at_init"):
        OTHERS += _cases(arch, ratios, BASELINES + AT_INIT, protocol, **fixed)
    # sanity controls: shuffled masks at init and after training, the lottery ticket's
    # random reinitialisation, inverted scores at init
    for control in ("shuffle", "reinit"):
        IMP += _cases(arch, high, ["magnitude_global"], f"imp:control={control}", **fixed)
    OTHERS += _cases(arch, high, ["magnitude_global", *AT_INIT], "at_init:control=shuffle",
                     **fixed)
    OTHERS += _cases(arch, high, ["magnitude_global"], "oneshot:control=shuffle", **fixed)
    if arch == "mlp":
        for control in ("invert", "reinit"):
            OTHERS += _cases(arch, high, AT_INIT, f"at_init:control={control}", **fixed)
CASES = IMP + OTHERS


@pytest.mark.parametrize("case", CASES)
def test_protocol(case, bench_case):
    assert_sound(case, bench_case(case))
