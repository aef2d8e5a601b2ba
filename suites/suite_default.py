"""The default grid: every method in methods/ on MNIST-5k with LeNet-5 over ratios 1 to 32."""

import pytest

from bench import grid


@pytest.mark.parametrize("case", grid.cases(datasets=["mnist5k"], archs=["lenet5"]))
def test_prune(case, bench_case):
    row = bench_case(case)
    assert 0.0 <= row["top1"] <= 1.0
    assert row["pruned_weights_zero"], "finetuning revived pruned weights"
    # The whole model reaches the compression asked for (within 2%).
    assert row["compression"] == pytest.approx(case.ratio, rel=0.02)
    if case.ratio == 1:
        assert row["top1"] == row["top1_dense"]
