"""Freeing the weights cache: zoo clean removes what it is asked to and nothing else."""

from __future__ import annotations

import json

import pytest
import torch
from filelock import FileLock

from bench.cli import main
from bench.training import cleanup
from bench.training.cache import WeightsCache
from bench.training.recipes import stable_hash


@pytest.fixture
def cache(tmp_path) -> WeightsCache:
    """Two models, a checkpoint of the first and an iterative-pruning round."""
    cache = WeightsCache(tmp_path / "cache")
    for i, dataset in enumerate(("digits", "mnist5k")):
        cache.store(stable_hash({"n": i}), {"w": torch.full((3, 3), float(i))},
                    {"dataset": dataset, "arch": "mlp", "seed": 0})
    cache.store(stable_hash({"ckpt": 0}), {"w": torch.zeros(3, 3)},
                {"pretrained": stable_hash({"n": 0}), "step": 5, "dataset": "digits",
                 "arch": "mlp", "seed": 0})
    cache.store("imp-" + stable_hash({"r": 1}), {"w": torch.ones(64, 64)},
                {"kind": "imp-round", "round": 1, "dataset": "mnist5k", "arch": "mlp", "seed": 0})
    return cache


def kinds(cache: WeightsCache) -> list[str]:
    return sorted(e.kind for e in cleanup.entries(cache, verify=True))


def test_entries_are_told_apart_by_kind(cache):
    assert kinds(cache) == ["checkpoint", "imp-round", "model", "model"]


def test_clean_by_kind_removes_only_that_kind(cache, capsys):
    assert main(["zoo", "--bench-cache", str(cache.root), "clean", "--kind", "imp-round"]) == 0
    assert kinds(cache) == ["checkpoint", "model", "model"]
    assert "1 entries, freed" in capsys.readouterr().out
    assert all(cache.load(e.key) is not None for e in cleanup.entries(cache))


def test_dry_run_removes_nothing(cache, capsys):
    assert main(["zoo", "--bench-cache", str(cache.root), "--json", "clean", "--datasets",
                 "digits", "--dry-run"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["kind"] for r in rows) == ["checkpoint", "model"]
    assert {r["result"] for r in rows} == {"would remove"}
    assert len(kinds(cache)) == 4


def test_damaged_entries_are_found_by_checksum(cache):
    victim = stable_hash({"n": 1})
    weights = cache.paths(victim)[0]
    data = bytearray(weights.read_bytes())
    data[-20] ^= 0xFF
    weights.write_bytes(bytes(data))
    chosen = cleanup.choose(cache, kinds=["damaged"])
    assert [e.key for e in chosen] == [victim]
    cleanup.remove(cache, chosen)
    assert kinds(cache) == ["checkpoint", "imp-round", "model"]


def test_an_entry_in_use_is_left_alone(cache):
    key = stable_hash({"n": 0})
    with FileLock(str(cache.root / f"{key}.lock")):
        outcome = cleanup.remove(cache, cleanup.choose(cache, keys=[key]))
    assert outcome == {key: "in use"}
    assert cache.load(key) is not None


def test_clean_without_a_selector_is_refused(cache, capsys):
    assert main(["zoo", "--bench-cache", str(cache.root), "clean"]) == 2
    assert "say which entries to remove" in capsys.readouterr().err
    assert main(["zoo", "--bench-cache", str(cache.root), "clean", "--kind", "weights"]) == 2
    assert "unknown kind weights" in capsys.readouterr().err
    assert len(kinds(cache)) == 4
