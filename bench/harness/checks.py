"""Invariants every finished case must satisfy, asserted by the suites."""

from __future__ import annotations

import math

import pytest

from bench.harness.case import Case

COMPRESSION_TOLERANCE = 0.02  # relative; rounding of per-layer counts stays well inside it


def assert_sound(case: Case, row: dict) -> None:
    """Accuracies are fractions, pruned weights stayed zero, the compression asked for was
    reached, and ratio 1 without training is the dense model itself."""
    if case.task == "lm":
        assert_sound_lm(case, row)
        return
    assert 0.0 <= row["top1"] <= row["top5"] <= 1.0, "accuracies must be fractions in [0, 1]"
    assert row["pruned_weights_zero"], "finetuning revived pruned weights"
    if row.get("method_kind") == "nm":  # the N:M pattern fixes the sparsity, not the ratio
        assert row.get("nm_pattern"), "an N:M case records its pattern"
        return
    # the ratio is met in the case's unit; channel granularity may allow less precision on small
    # nets, and the row states how much (target_tolerance)
    _assert_target(case, row)
    if case.ratio == 1 and not row.get("train_steps"):  # at_init trains even at ratio 1
        assert row["top1"] == row["top1_dense"], "ratio 1 must leave the dense model unchanged"


def assert_sound_lm(case: Case, row: dict) -> None:
    """A language-model case: a finite perplexity, pruned weights exactly zero, the fraction of
    the prunable weights kept that the ratio asks for, and ratio 1 is the dense model itself."""
    assert row["perplexity"] >= 1 and math.isfinite(row["perplexity"]), (
        f"perplexity must be finite and at least 1, got {row['perplexity']}")
    assert row["pruned_weights_zero"], "pruned weights are not exactly zero"
    if row.get("method_kind") == "channel":  # a smaller model, the ratio over the whole model
        _assert_target(case, row)
        if case.ratio > 1:
            assert row["params_total"] < row["params_dense"], "no structure was removed"
        return
    assert row["keep_fraction_achieved"] == pytest.approx(1 / case.ratio, abs=1e-3), (
        f"asked to keep {1 / case.ratio:.4f} of the prunable weights, kept "
        f"{row['keep_fraction_achieved']:.4f}")
    if case.ratio == 1:
        assert row["perplexity"] == row["perplexity_dense"], "ratio 1 must leave the dense model unchanged"


def _assert_target(case: Case, row: dict) -> None:
    """The ratio is met in the case's unit, within the tolerance channel (or head) granularity
    allows on the model, which the row states (target_tolerance)."""
    figure = "speedup_theoretical" if case.target == "macs" else "compression"
    tolerance = max(COMPRESSION_TOLERANCE, row.get("target_tolerance") or 0)
    assert row[figure] == pytest.approx(case.ratio, rel=tolerance), (
        f"asked for {case.ratio}x fewer {case.target}, the model as evaluated is "
        f"{row[figure]:.3f}x (tolerance {tolerance:.1%})")
