"""Pretrained zoo: keys, atomic writes, one training under contention, corrupted entries retrained."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import stat

import pytest
import torch

from bench import data
from bench.training import cache as cache_module
from bench.training.recipes import Recipe
from bench.training.zoo import PretrainedSpec, Zoo

ONE_EPOCH = Recipe(epochs=1, lr=0.05, augment=False)
SPEC = PretrainedSpec("digits", "mlp", ONE_EPOCH, seed=0)


def test_key_covers_dataset_arch_recipe_seed():
    assert SPEC.key == "ab986d605f12"  # regression pin: a change orphans every cached model
    others = [PretrainedSpec("mnist5k", "mlp", ONE_EPOCH), PretrainedSpec("digits", "lenet5", ONE_EPOCH),
              PretrainedSpec("digits", "mlp", Recipe(epochs=2, augment=False)),
              PretrainedSpec("digits", "mlp", ONE_EPOCH, seed=1)]
    assert len({SPEC.key, *(s.key for s in others)}) == 5


def test_trains_once_then_reuses(tmp_path):
    first = Zoo(tmp_path)
    model = first.ensure(SPEC)
    assert first.trained == [SPEC.key]
    meta = json.loads((tmp_path / SPEC.key / "meta.json").read_text())
    assert meta["dataset"] == "digits" and meta["recipe_key"] == ONE_EPOCH.key
    assert 0.5 < meta["top1"] <= 1.0  # one epoch of an MLP on the digits is far above chance
    train_set, _ = data.load("digits")
    assert meta["train_steps"] == -(-len(train_set) // ONE_EPOCH.batch_size)  # one epoch's steps
    second = Zoo(tmp_path)
    again = second.ensure(SPEC)
    assert second.trained == []
    assert all(torch.equal(a, again.state_dict[k]) for k, a in model.state_dict.items())
    assert [m["key"] for m in second.cached(verify=True) if m["valid"]] == [SPEC.key]


def _ask(cache: str, barrier, results) -> None:
    torch.set_num_threads(1)
    zoo = Zoo(cache)
    barrier.wait()  # both processes ask at the same moment
    got = zoo.ensure(SPEC)
    results.put((len(zoo.trained), got.meta["sha256"]))


@pytest.mark.slow
def test_two_processes_train_a_key_once(tmp_path):
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(str(tmp_path), barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(n for n, _ in outcomes) == [0, 1]  # exactly one of them trained
    assert outcomes[0][1] == outcomes[1][1]  # and both got the same weights


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta", "code"])
def test_corrupted_entry_is_retrained_never_loaded(tmp_path, damage):
    Zoo(tmp_path).ensure(SPEC)
    weights, meta_path = Zoo(tmp_path).paths(SPEC.key)
    good = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(good[: len(good) // 2])
    elif damage == "flip":
        weights.write_bytes(good[:-100] + bytes(b ^ 0xFF for b in good[-100:]))
    elif damage == "meta":
        meta_path.write_text(meta_path.read_text()[:20])
    else:  # a pickle that runs code, with its checksum recorded: weights_only must refuse it
        torch.save({"fc1.weight": torch.zeros(1), "hook": print}, weights)
        meta = json.loads(meta_path.read_text()) | {"sha256": cache_module.sha256(weights)}
        meta_path.write_text(json.dumps(meta))
    fresh = Zoo(tmp_path)
    with pytest.warns(UserWarning, match="corrupted"):
        restored = fresh.ensure(SPEC)
    assert fresh.trained == [SPEC.key]
    assert weights.read_bytes() == good  # same seed, same machine: the same weights again
    restored.build()  # and they load into the architecture


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "weights.pt"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache_module.atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]  # no temporary left behind


def test_atomic_write_gives_the_permissions_of_a_plain_open(tmp_path):
    """A cache shared by a group must be readable by it: not mkstemp's owner-only mode."""
    old = os.umask(0o002)
    try:
        cache_module.atomic_write(tmp_path / "w.pt", lambda f: f.write(b"x"))
        (tmp_path / "plain").write_bytes(b"x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "w.pt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o664


def test_pretrain_grid_fills_the_cache(tmp_path):
    zoo = Zoo(tmp_path)
    got = zoo.pretrain(["digits"], ["mlp"], [0, 1], recipe=None)
    assert [p.spec.seed for p in got] == [0, 1] and len(zoo.trained) == 2
    assert {m["arch"] for m in zoo.cached()} == {"mlp"}


def test_cli_lists_the_cache(tmp_path, capsys):
    from bench.cli import main

    Zoo(tmp_path).ensure(SPEC)
    assert main(["zoo", "--bench-cache", str(tmp_path), "--json", "--verify"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["valid"]) for r in rows] == [(SPEC.key, True)]


def test_loading_never_trains_and_checkpoints_are_asked_for(tmp_path):
    from bench.training.zoo import MissingWeightsError

    zoo = Zoo(tmp_path)
    with pytest.raises(MissingWeightsError, match="zoo pretrain"):
        zoo.load(SPEC)
    assert zoo.trained == []
    early = zoo.checkpoint(SPEC, 3)  # trains once, keeping the weights after step 3
    final = zoo.load(SPEC)
    assert zoo.trained == [SPEC.key] and early.meta["step"] == 3
    assert any(not torch.equal(early.state_dict[k], final.state_dict[k]) for k in final.state_dict)
    initial = zoo.initial(SPEC).state_dict()
    assert torch.equal(zoo.checkpoint(SPEC, 0).state_dict["fc1.weight"], initial["fc1.weight"])
