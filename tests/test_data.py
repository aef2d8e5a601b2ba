"""Dataset registry and loaders: on-disk formats read from tiny files written here, seeded batches."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from bench import data
from bench.data import DatasetUnavailableError
from bench.data.arrays import ImageArrays, crop_flip
from bench.data.disk import read_idx
from bench.data.loaders import make_loader
from bench.registry import UnknownNameError


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    """An IDX file (uint8) exactly as MNIST ships it."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def write_mnist(root, folder: str, n_train: int, n_test: int, compress: bool) -> dict:
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        suffix = ".gz" if compress else ""
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images, compress)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress)
        arrays[prefix] = (images, labels)
    return arrays


def write_cifar_batch(path, n: int, label_key: bytes, seed: int) -> tuple[np.ndarray, list[int]]:
    """A CIFAR python batch: a pickled dict with bytes keys, data (N, 3072) uint8 and labels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"x", label_key: labels, b"data": images,
                     b"filenames": [b"f"] * n}, f)
    return images, labels


@pytest.mark.parametrize("compress", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_idx_datasets_load_from_disk(tmp_path, name, folder, compress):
    arrays = write_mnist(tmp_path, folder, 12, 5, compress)
    train, test = data.load(name, tmp_path)
    assert (len(train), len(test)) == (12, 5)
    x, y = next(iter(make_loader(test, 5, shuffle=False)))
    assert x.shape == (5, *data.get(name).input_shape) and x.dtype == torch.float32
    assert torch.equal(y, torch.from_numpy(arrays["t10k"][1].astype(np.int64)))
    spec_mean = train.mean[0]
    expected = (arrays["t10k"][0][0] / 255.0 - spec_mean) / train.std[0]
    assert torch.allclose(x[0, 0], torch.from_numpy(expected).float(), atol=1e-5)


def test_truncated_idx_is_refused(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((4, 28, 28), np.uint8), compress=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_cifar10_loads_python_batches(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    parts = [write_cifar_batch(base / f"data_batch_{i}", 3, b"labels", i) for i in range(1, 6)]
    test_images, test_labels = write_cifar_batch(base / "test_batch", 4, b"labels", 9)
    train, test = data.load("cifar10", tmp_path)
    assert (len(train), len(test)) == (15, 4)
    assert train.labels.tolist() == [label for p in parts for label in p[1]]
    assert torch.equal(test.images, torch.from_numpy(test_images).view(4, 3, 32, 32))
    x, y = next(iter(make_loader(test, 4, shuffle=False)))
    assert x.shape == (4, 3, 32, 32) and y.tolist() == test_labels


def test_cifar100_uses_fine_labels(tmp_path):
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    _, labels = write_cifar_batch(base / "train", 6, b"fine_labels", 1)
    write_cifar_batch(base / "test", 2, b"fine_labels", 2)
    train, _ = data.load("cifar100", tmp_path)
    assert train.labels.tolist() == labels and data.get("cifar100").num_classes == 100


def test_cifar_pickle_with_code_is_refused(tmp_path):
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    for name in ("train", "test"):
        (base / name).write_bytes(pickle.dumps({b"data": print}))  # a global that is not an array
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data.load("cifar100", tmp_path)


def test_imagenet_image_folder(tmp_path):
    from PIL import Image

    for split, n in (("train", 2), ("val", 1)):
        for wnid in ("n01", "n02"):
            folder = tmp_path / "imagenet" / split / wnid
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (40, 30), (i * 50, 10, 200)).save(folder / f"{i}.png")
    train, test = data.load("imagenet", tmp_path, augment=True)
    assert (len(train), len(test)) == (4, 2) and train.classes == ["n01", "n02"]
    x, y = train[3]
    assert x.shape == (3, 224, 224) and y == 1
    torch.manual_seed(0)
    a = next(iter(make_loader(train, 4, shuffle=True, seed=1)))
    torch.manual_seed(0)
    b = next(iter(make_loader(train, 4, shuffle=True, seed=1)))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "cifar100", "imagenet"])
def test_missing_files_name_what_to_put_where(tmp_path, name):
    assert not data.available(name, tmp_path)
    with pytest.raises(DatasetUnavailableError) as info:
        data.load(name, tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and data.get(name).files.split("/")[0] in message
    assert "--download" in message or name == "imagenet"


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UnknownNameError, match=r"valid names: .*cifar10.*mnist5k"):
        data.get("cifar11")


@pytest.mark.parametrize("name", ["digits", "mnist5k"])
def test_embedded_sizes_match_spec(name):
    spec = data.get(name)
    train, test = data.load(name)
    assert (len(train), len(test)) == (spec.train_size, spec.test_size)
    assert tuple(train[0][0].shape) == spec.input_shape
    assert sorted(set(test.tensors[1].tolist())) == list(range(spec.num_classes))  # stratified


def _arrays(n: int = 10) -> ImageArrays:
    images = torch.arange(n * 3 * 6 * 6, dtype=torch.int64).remainder(256).to(torch.uint8)
    return ImageArrays(images.view(n, 3, 6, 6), torch.arange(n), (0.5,) * 3, (0.25,) * 3)


def test_augmentation_is_seeded_and_only_on_request():
    plain = _arrays()
    augmented = plain.with_augmentation(crop_flip(2))
    assert augmented.images is plain.images  # shared, not copied
    batches = [list(make_loader(augmented, 4, shuffle=True, seed=s)) for s in (3, 3, 4)]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches[0], batches[1], strict=True))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(batches[0], batches[2], strict=True))
    unshuffled = next(iter(make_loader(plain, 10, shuffle=False)))[0]
    assert torch.equal(unshuffled[0], plain[0][0])


def test_crop_flip_keeps_shape_and_moves_pixels():
    x = torch.randint(1, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out = crop_flip(4)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert (out == 0).any()  # some crops reach into the zero padding
    assert int((out == x).flatten(1).all(1).sum()) < 32  # most are moved
    flipped = crop_flip(0)(x, torch.Generator().manual_seed(0))  # no padding: flips only
    same, mirrored = ((flipped == x).flatten(1).all(1), (flipped == x.flip(3)).flatten(1).all(1))
    assert bool((same | mirrored).all()) and same.any() and mirrored.any()


def test_cli_lists_every_dataset_with_availability(tmp_path, capsys):
    import json

    from bench.cli import main

    write_mnist(tmp_path, "MNIST", 2, 2, compress=True)
    assert main(["datasets", "--json", "--bench-data", str(tmp_path)]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {n for n, r in rows.items() if r["task"] == "classification"} == set(data.names())
    assert {n for n, r in rows.items() if r["task"] == "lm"} == {"shakespeare", "wikitext2"}
    assert rows["shakespeare"]["available"] and not rows["wikitext2"]["available"]
    assert rows["mnist"]["available"] and not rows["cifar10"]["available"]
    assert rows["digits"]["available"] and rows["cifar10"]["train"] == 50000


def test_calibration_batch_of_image_arrays_is_plain_and_seeded():
    from bench.data.loaders import calibration_batch

    augmented = _arrays().with_augmentation(crop_flip(2))
    x, y = calibration_batch(augmented, 4, seed=5)
    again = calibration_batch(augmented, 4, seed=5)
    assert torch.equal(x, again[0]) and torch.equal(y, again[1])
    assert all(torch.equal(x[i], augmented[int(y[i])][0]) for i in range(4))  # labels are indices
