"""Statistics used by the reports: intervals, paired comparisons, rankings, checklist."""

from __future__ import annotations

import math

import pytest

from bench.analysis import stats


def test_summarize_matches_t_interval():
    s = stats.summarize([1.0, 2.0, 3.0])
    assert (s.n, s.mean, s.std) == (3, 2.0, 1.0)
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, 2)
    assert s.ci_low == pytest.approx(2 - half) and s.ci_high == pytest.approx(2 + half)


def test_summarize_single_value_has_no_spread():
    s = stats.summarize([0.5])
    assert s.mean == 0.5 and math.isnan(s.std) and math.isnan(s.ci_low)


def _row(method, ratio, seed, top1, dense=0.9, **kw):
    return {"dataset": "d", "arch": "a", "method": method, "ratio": ratio, "seed": seed,
            "top1": top1, "top1_dense": dense, "pretrained_key": "p", "recipe_key": "r",
            "status": "passed", "compression": ratio, "speedup_theoretical": ratio} | kw


def test_paired_pairs_on_seed_and_weights():
    rows = [_row("a", 4, s, 0.8 + 0.01 * s) for s in range(3)]
    rows += [_row("b", 4, s, 0.7 + 0.01 * s) for s in range(3)]
    rows.append(_row("b", 4, 9, 0.0))  # no partner: ignored
    (p,) = stats.paired(rows, "a", "b")
    assert p.pairs == 3 and p.a_wins == 3
    assert p.mean_diff == pytest.approx(0.1)
    assert p.ci_low == pytest.approx(0.1) and p.ci_high == pytest.approx(0.1)


def test_two_versions_of_a_method_on_one_seed_are_refused_not_paired_at_random():
    rows = [_row("a", 4, 0, 0.8, method_hash="v1"), _row("a", 4, 0, 0.6, method_hash="v2"),
            _row("b", 4, 0, 0.7)]
    with pytest.raises(stats.AmbiguousPairError, match=r"method=a.*seed 0.*--versions all"):
        stats.paired(rows, "a", "b")


def test_kendall_tau_detects_reversal():
    a = {"x": 1, "y": 2, "z": 3}
    assert stats.kendall_tau(a, a) == pytest.approx(1.0)
    assert stats.kendall_tau(a, {"x": 3, "y": 2, "z": 1}) == pytest.approx(-1.0)


def test_rank_methods_best_first():
    rows = [_row("a", 2, 0, 0.5), _row("b", 2, 0, 0.7), _row("c", 2, 0, 0.6)]
    assert stats.rank_methods(rows) == {"a": 3, "b": 1, "c": 2}


def test_first_ratio_below_dense():
    rows = [_row("m", r, 0, t) for r, t in [(1, 0.9), (2, 0.895), (4, 0.88), (8, 0.5)]]
    assert stats.first_ratio_below_dense(rows) == {("d", "a", "m"): 4}
    assert stats.first_ratio_below_dense(rows[:2]) == {("d", "a", "m"): None}


def test_checklist_flags_what_is_missing():
    rows = [_row(m, r, s, 0.8) for m in ("random", "magnitude_global", "new")
            for r in (1, 2, 4, 8) for s in range(3)]
    checks = stats.checklist(rows)
    assert all(checks[("d", "a", "new")].values())
    one_seed = stats.checklist([r for r in rows if r["seed"] == 0])
    assert not one_seed[("d", "a", "new")]["several seeds (>= 3) with spread"]
    alone = stats.checklist([r for r in rows if r["method"] == "new"])
    assert not alone[("d", "a", "new")]["compared with random"]


def test_an_interval_of_bounded_values_is_clipped_and_says_so():
    s = stats.summarize([0.99, 0.5, 0.98], bounds=(0.0, 1.0))
    assert s.ci_high == 1.0 and s.ci_low > 0 and s.clipped
    assert s.ci_low == pytest.approx(stats.summarize([0.99, 0.5, 0.98]).ci_low)
    inside = stats.summarize([0.5, 0.51, 0.52], bounds=(0.0, 1.0))
    assert not inside.clipped and inside == stats.summarize([0.5, 0.51, 0.52])
