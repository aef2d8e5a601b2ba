"""Invariants every finished case must satisfy, asserted by the suites."""

from __future__ import annotations

import pytest

from bench.harness.case import Case

COMPRESSION_TOLERANCE = 0.02  # relative; rounding of per-layer counts stays well inside it


def assert_sound(case: Case, row: dict) -> None:
    """Accuracies are fractions, pruned weights stayed zero, the compression asked for was
    reached, and ratio 1 without training is the dense model itself."""
    assert 0.0 <= row["top1"] <= row["top5"] <= 1.0, "accuracies must be fractions in [0, 1]"
    assert row["pruned_weights_zero"], "finetuning revived pruned weights"
    assert row["compression"] == pytest.approx(case.ratio, rel=COMPRESSION_TOLERANCE), (
        f"asked for {case.ratio}x, the model as evaluated is {row['compression']:.3f}x")
    if case.ratio == 1 and not row.get("train_steps"):  # at_init trains even at ratio 1
        assert row["top1"] == row["top1_dense"], "ratio 1 must leave the dense model unchanged"
