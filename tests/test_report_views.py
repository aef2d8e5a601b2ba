"""The report's analysis views (paired, ranks, first-drop, winners, checklist) on a real database."""

from __future__ import annotations

import json

import pytest

from bench.cli import main


@pytest.fixture
def grid_db(make_results_db, case_row):
    rows = []
    for seed in range(3):
        for ratio in (1, 2, 4, 8):
            for method, loss in (("good", 0.01), ("random", 0.05)):
                for ps in (0, 1):
                    top1 = 0.9 - loss * (ratio - 1) + 0.001 * seed + (0.2 if ps and method
                                                                       == "random" else 0)
                    rows.append(case_row(method, ratio, seed, top1, pretrain_seed=ps,
                                         case_id=f"{method}-r{ratio}-s{seed}-ps{ps}",
                                         nodeid=f"x::t[{method}-r{ratio}-s{seed}-ps{ps}]"))
    return make_results_db("grid.duckdb", {"run1": rows})


def _json_view(db, capsys, *args):
    assert main(["report", "--db", str(db), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_paired_view_pairs_each_method_with_random(grid_db, capsys):
    tables = _json_view(grid_db, capsys, "--view", "paired", "--arch", "net")
    (title,) = tables
    assert title.startswith("paired: good - random")
    assert len(tables[title]) == 4  # one line per ratio


def test_ranks_view_detects_the_flip_between_pretrained_weights(grid_db, capsys):
    tables = _json_view(grid_db, capsys, "--view", "ranks")
    (agreement,) = tables["rank agreement by pretrain_seed"]
    assert agreement["kendall_tau"] == pytest.approx(-1.0)
    assert agreement["same ranking"] is False


def test_first_drop_and_checklist_views(grid_db, capsys):
    tables = _json_view(grid_db, capsys, "--view", "first-drop", "--view", "checklist")
    drops = {(r["method"], r["pretrain_seed"]): r["first ratio > 1 pt below dense"]
             for r in tables["first ratio more than 1 point below dense"]}
    assert drops[("random", 0)] == 2 and drops[("good", 0)] == 4  # conditions never averaged
    assert drops[("random", 1)] == 8
    checks = {r["method"]: r for r in tables["reporting checklist"]}
    assert checks["good"]["compared with random"] == "yes"
    assert checks["good"]["compared with magnitude"] == "NO"


def test_all_view_prints_every_table(grid_db, capsys):
    assert main(["report", "--db", str(grid_db), "--view", "all"]) == 0
    out = capsys.readouterr().out
    for title in ("top-1 95% CI", "paired:", "ranks by pretrain_seed", "first ratio",
                  "best method at a fixed", "reporting checklist"):
        assert title in out


@pytest.fixture
def confounder_db(make_results_db, case_row):
    """Two finetuning recipes and two pretrained weights, under which two methods swap ranks."""
    rows = []
    for seed in range(2):
        for ratio in (2, 4):
            for method, loss in (("good", 0.01), ("random", 0.05)):
                for ft, rk, ps, pk in (("ft-a", "rka", 0, "pk0"), ("ft-b", "rkb", 0, "pk0"),
                                       ("ft-a", "rka", 1, "pk1")):
                    swap = 0.2 if method == "random" and (ft == "ft-b" or ps == 1) else 0
                    name = f"{method}-r{ratio}-s{seed}-{ft}-ps{ps}"
                    rows.append(case_row(method, ratio, seed, 0.9 - loss * ratio + swap,
                                         finetune_recipe=ft, recipe_key=rk, pretrain_seed=ps,
                                         pretrained_key=pk, pretrained_sha256=pk * 16,
                                         case_id=name, case_key=name, nodeid=f"x::t[{name}]"))
    return make_results_db("confounders.duckdb", {"run1": rows})


@pytest.mark.parametrize("by", ["recipe_key", "finetune_recipe", "pretrained_key",
                                "pretrained_sha256", "pretrain_seed"])
def test_ranks_by_any_condition_or_identity_print_rank_rows(confounder_db, capsys, by):
    tables = _json_view(confounder_db, capsys, "--view", "ranks", "--by", by)
    ranks = tables[f"ranks by {by} (mean top-1 over ratios >= 2)"]
    agreement = tables[f"rank agreement by {by}"]
    assert {r["method"] for r in ranks} == {"good", "random"}
    assert all(a["kendall_tau"] == pytest.approx(-1.0) for a in agreement)
