"""Moving weights between machines: zoo export / import, verified, atomic, safe to unpack."""

from __future__ import annotations

import io
import tarfile

import pytest
import torch

from bench.cli import main
from bench.training.archive import DamagedArchiveError, import_entries, select
from bench.training.cache import KINDS as cache_kinds
from bench.training.cache import WeightsCache, entry_key, kind_of
from bench.training.recipes import stable_hash


@pytest.fixture
def source(tmp_path) -> WeightsCache:
    """A cache with two pretrained entries and a checkpoint of the first."""
    cache = WeightsCache(tmp_path / "src")
    for i, dataset in enumerate(("digits", "mnist5k")):
        key = stable_hash({"n": i})
        cache.store(key, {"w": torch.full((3, 3), float(i))},
                    {"dataset": dataset, "arch": "mlp", "seed": 0, "recipe_key": "r"})
    first = stable_hash({"n": 0})
    cache.store(stable_hash({"ckpt": 0}), {"w": torch.zeros(3, 3)},
                {"pretrained": first, "step": 5, "dataset": "digits", "arch": "mlp", "seed": 0})
    return cache


def test_export_then_import_brings_the_same_weights(source, tmp_path, capsys):
    archive = tmp_path / "w.tar"
    assert main(["zoo", "--bench-cache", str(source.root), "export", str(archive),
                 "--datasets", "digits"]) == 0
    dest = WeightsCache(tmp_path / "dest")
    assert main(["zoo", "--bench-cache", str(dest.root), "import", str(archive)]) == 0
    assert capsys.readouterr().out.count("imported") == 2  # the entry and its checkpoint
    keys = select(source, datasets=["digits"])
    assert len(keys) == 2 and {m["key"] for m in dest.entries(verify=True) if m["valid"]} == set(keys)
    for key in keys:
        state, meta = dest.load(key)
        assert meta["sha256"] == source.meta(key)["sha256"]
        assert torch.equal(state["w"], source.load(key)[0]["w"])
    assert import_entries(dest, archive) == dict.fromkeys(keys, "present")


def test_a_damaged_entry_is_refused_by_name_and_nothing_is_written(source, tmp_path):
    key = select(source, datasets=["digits"])[0]
    weights, meta = source.paths(key)
    bad = bytearray(weights.read_bytes())
    bad[-20] ^= 0xFF
    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in ((f"{key}/weights.pt", bytes(bad)), (f"{key}/meta.json", meta.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dest = WeightsCache(tmp_path / "dest")
    with pytest.raises(DamagedArchiveError, match=key):
        import_entries(dest, archive)
    assert not dest.root.exists() or not any(dest.root.rglob("*.pt"))


@pytest.mark.parametrize("name", ["../evil.pt", "/tmp/evil.pt", "0123456789ab/../../evil.pt",
                                  "0123456789ab/weights.pt/../x"])
def test_members_outside_an_entry_are_refused(tmp_path, name):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    dest = WeightsCache(tmp_path / "dest")
    with pytest.raises(DamagedArchiveError, match="unsafe"):
        import_entries(dest, archive)
    assert not list(tmp_path.rglob("evil.pt")) and not dest.root.exists()


def test_a_link_member_is_refused(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("0123456789ab/weights.pt")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DamagedArchiveError, match="unsafe"):
        import_entries(WeightsCache(tmp_path / "dest"), archive)


def test_other_weights_under_the_same_key_are_kept_unless_replaced(source, tmp_path):
    key = select(source, datasets=["mnist5k"])[0]
    archive = tmp_path / "w.tar"
    assert main(["zoo", "--bench-cache", str(source.root), "export", str(archive), "--keys", key]) == 0
    dest = WeightsCache(tmp_path / "dest")
    dest.store(key, {"w": torch.ones(3, 3) * 7}, {"dataset": "mnist5k", "arch": "mlp", "seed": 0})
    assert import_entries(dest, archive)[key].startswith("kept")
    assert dest.load(key)[0]["w"][0, 0] == 7
    assert import_entries(dest, archive, replace=True)[key] == "imported"
    assert dest.meta(key)["sha256"] == source.meta(key)["sha256"]


def test_an_unknown_key_is_an_error(source, tmp_path, capsys):
    assert main(["zoo", "--bench-cache", str(source.root), "export", str(tmp_path / "x.tar"),
                 "--keys", "ffffffffffff"]) == 2
    assert "no cache entry ffffffffffff" in capsys.readouterr().err


# The metadata that makes an entry of each kind (the key of each: entry_key(kind, stable_hash({"kind":
# kind}))); a kind not named here is made by its `kind` field.
KIND_META = {"model": {"dataset": "digits", "arch": "mlp", "seed": 0, "recipe_key": "r"},
             "checkpoint": {"pretrained": entry_key("model", stable_hash({"kind": "model"})), "step": 5,
                            "dataset": "digits",
                            "arch": "mlp", "seed": 0},
             "imp-round": {"kind": "imp-round", "round": 1, "keep": 0.5, "dataset": "digits",
                           "arch": "mlp", "seed": 0}}


@pytest.mark.parametrize("kind", list(cache_kinds))
def test_every_kind_of_entry_round_trips(kind, tmp_path, capsys):
    source = WeightsCache(tmp_path / "src")
    key = entry_key(kind, stable_hash({"kind": kind}))
    source.store(key, {"w": torch.arange(6.0).reshape(2, 3)}, KIND_META.get(kind, {"kind": kind}))
    assert kind_of(source.meta(key)) == kind
    archive = tmp_path / "w.tar"
    assert main(["zoo", "--bench-cache", str(source.root), "export", str(archive), "--keys", key]) == 0
    dest = WeightsCache(tmp_path / "dest")
    assert import_entries(dest, archive) == {key: "imported"}
    state, meta = dest.load(key)
    assert torch.equal(state["w"], source.load(key)[0]["w"]) and meta == source.meta(key)
    assert kind_of(meta) == kind


def test_export_by_dataset_takes_every_kind_and_import_takes_it_all(tmp_path):
    source = WeightsCache(tmp_path / "src")
    for kind in cache_kinds:
        source.store(entry_key(kind, stable_hash({"kind": kind})), {"w": torch.zeros(2)},
                     KIND_META.get(kind, {"kind": kind, "dataset": "digits"}))
    archive = tmp_path / "w.tar"
    assert main(["zoo", "--bench-cache", str(source.root), "export", str(archive),
                 "--datasets", "digits"]) == 0
    outcome = import_entries(WeightsCache(tmp_path / "dest"), archive)
    assert len(outcome) == len(cache_kinds) and set(outcome.values()) == {"imported"}


@pytest.mark.parametrize("where", ["before", "after"])
def test_bench_cache_is_taken_before_or_after_the_action(source, tmp_path, capsys, where):
    archive = tmp_path / "w.tar"
    assert main(["zoo", "--bench-cache", str(source.root), "export", str(archive), "--datasets",
                 "digits"]) == 0
    dest = tmp_path / "dest"
    flag = ["--bench-cache", str(dest)]
    argv = [*flag, "import", str(archive)] if where == "before" else ["import", str(archive), *flag]
    assert main(["zoo", *argv]) == 0
    assert len(WeightsCache(dest).entries()) == 2
    assert main(["zoo", "--bench-cache", str(dest), "clean", "--kind", "checkpoint"]) == 0
    assert len(WeightsCache(dest).entries()) == 1  # given before the action, not undone by it
