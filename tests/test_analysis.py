"""Report tables on synthetic grids whose answers are known."""

from __future__ import annotations

import math

import pytest

from bench.analysis import views as analysis


def _row(method, ratio, seed=0, top1=0.8, **kw):
    return {"dataset": "d", "arch": "a", "method": method, "ratio": ratio, "seed": seed,
            "top1": top1, "top1_dense": 0.9, "pretrained_key": "p", "recipe_key": "r",
            "status": "passed", "compression": ratio, "speedup_theoretical": ratio} | kw


def test_compression_and_speedup_name_different_winners():
    rows = []
    for r in (2, 4, 8, 16, 32):
        rows.append(_row("global", r, top1=0.9 - 0.01 * math.log2(r), speedup_theoretical=r / 2))
        rows.append(_row("layer", r, top1=0.9 - 0.02 * math.log2(r), speedup_theoretical=r * 2))
    by_level = {t["level"]: t for t in analysis.winners_table(rows, levels=(4, 8))}
    assert by_level[4]["best at compression"] == "global"
    assert by_level[4]["top1 at compression"] == pytest.approx(0.88)
    assert by_level[4]["best at speedup"] == "layer"
    assert by_level[4]["top1 at speedup"] == pytest.approx(0.88)


def test_rank_table_reports_a_flipped_ranking():
    rows = [_row("x", 4, top1=0.8, pretrain_seed=0), _row("y", 4, top1=0.7, pretrain_seed=0),
            _row("x", 4, top1=0.6, pretrain_seed=1), _row("y", 4, top1=0.7, pretrain_seed=1)]
    ranks, taus = analysis.rank_table(rows, by="pretrain_seed")
    assert {r["method"]: (r["rank @ pretrain_seed=0"], r["rank @ pretrain_seed=1"])
            for r in ranks} == {"x": (1, 2), "y": (2, 1)}
    (tau,) = taus
    assert tau["kendall_tau"] == pytest.approx(-1.0) and tau["same ranking"] is False


def test_rank_table_rejects_unknown_condition():
    with pytest.raises(ValueError, match="--by must be one of"):
        analysis.rank_table([], by="colour")


def test_failed_rows_are_left_out_of_statistics():
    rows = [_row("m", 2, top1=0.85), _row("m", 4, top1=None, status="failed")]
    (entry,) = analysis.first_drop_table(rows)
    assert entry["first ratio > 1 pt below dense"] == 2


def test_paired_table_and_checklist_shapes():
    rows = [_row(m, r, s, top1=0.8 + (0.05 if m == "a" else 0)) for m in ("a", "random")
            for r in (1, 2, 4, 8) for s in range(3)]
    table = analysis.paired_table(rows, "a", "random")
    assert [t["ratio"] for t in table] == [1, 2, 4, 8]
    assert all(t["a wins"] == "3/3" for t in table)
    checks = {(c["method"]): c for c in analysis.checklist_table(rows)}
    assert checks["a"]["compared with random"] == "yes"
    assert checks["a"]["compared with magnitude"] == "NO"
