"""A case's identity: ids and keys of today's cases are pinned, keys ignore defaulted fields."""

from __future__ import annotations

import dataclasses

from bench.harness.case import CONDITION_KEYS, GROUP_KEYS, PAIR_KEYS, Case
from bench.harness.grid import cases
from bench.results.schema import RESULT_COLUMNS

# (case, id, key): changing any of these orphans every stored result of the case.
PINNED = [
    (Case("magnitude_global", "mnist5k", "lenet5", 2, 0),
     "magnitude_global-mnist5k-lenet5-r2-s0", "df17189d1eef"),
    (Case("random", "mnist5k", "resnet20", 32, 2, finetune="finetune-small-fast"),
     "random-mnist5k-resnet20-r32-s2-ft=finetune-small-fast", None),
    (Case("gradient_layer", "mnist5k", "lenet5", 8, 0, pretrain_seed=2),
     "gradient_layer-mnist5k-lenet5-r8-s0-ps2", None),
]


def test_ids_and_keys_of_existing_cases_are_pinned():
    for case, case_id, key in PINNED:
        assert case.id == case_id
        if key:
            assert case.key == key
    assert [c.key for c, _, _ in PINNED[1:]] == ["891c092f3784", "f39febfc3f6e"]


def test_the_default_protocol_stays_out_of_id_and_key_and_others_enter_both():
    base = Case("magnitude_global", "mnist5k", "lenet5", 4, 1)
    assert Case("magnitude_global", "mnist5k", "lenet5", 4, 1, protocol="oneshot") == base
    imp = dataclasses.replace(base, protocol="imp")
    assert imp.id == base.id + "-imp" and imp.key != base.key


def test_an_int_and_a_float_ratio_are_one_case():
    assert Case("m", "d", "a", 2).key == Case("m", "d", "a", 2.0).key


def test_grid_ids_are_unique_and_every_key_differs():
    grid = [p.values[0] for p in cases(methods=["a", "b"], ratios=(1, 2), seeds=(0, 1))]
    assert len({c.id for c in grid}) == len({c.key for c in grid}) == len(grid) == 8


def test_report_keys_are_derived_from_the_case_and_stored():
    assert GROUP_KEYS == ("dataset", "arch", "method", "ratio", "pattern")
    assert set(CONDITION_KEYS) == {"pretrain_recipe", "finetune_recipe", "pretrain_seed",
                                   "include_classifier", "calibration_size", "protocol",
                                   "target", "round_to"}
    assert "method" not in PAIR_KEYS and {"seed", "pretrained_sha256"} <= set(PAIR_KEYS)
    for key in (*GROUP_KEYS, *CONDITION_KEYS, *PAIR_KEYS, "case_key", "case_id"):
        assert key in RESULT_COLUMNS, key
    assert set(Case("m", "d", "a", 2).columns()) <= set(RESULT_COLUMNS)


def test_default_grids_hold_the_mask_methods_and_keep_broken_files(tmp_path):
    from bench.harness.grid import method_names

    body = '"""M."""\nKIND = "{}"\n\n\ndef prune(model, compression, ctx):\n    return {{}}\n'
    for name, kind in (("a", "unstructured"), ("b", "channel"), ("c", "nm")):
        (tmp_path / f"{name}.py").write_text(body.format(kind))
    (tmp_path / "d.py").write_text("import nonexistent_module\n")
    assert method_names(str(tmp_path), kinds=("unstructured",)) == ["a", "d"]
    assert method_names(str(tmp_path)) == ["a", "b", "c", "d"]
