"""Datasets kept on the user's disk under the data root, in torchvision's on-disk formats."""

from __future__ import annotations

import gzip
import pickle
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.data.spec import DatasetSpec, DatasetUnavailableError, Splits, register
from bench.errors import InvalidValueError

if TYPE_CHECKING:
    from torch.utils.data import Dataset

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (MNIST's format), gzipped or raw."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise InvalidValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    count = int(np.prod(dims))
    offset = 4 + 4 * ndim
    if len(raw) - offset != count * dtype.itemsize:
        raise InvalidValueError(f"{path} is truncated: header says {dims}, file holds "
                         f"{len(raw) - offset} bytes of data")
    return np.frombuffer(raw, dtype, count=count, offset=offset).reshape(dims)


def _missing(name: str, root: Path, files: str, downloadable: bool = True) -> DatasetUnavailableError:
    fetch = (f", or fetch it with `python -m bench datasets --download {name} --bench-data {root}`"
             if downloadable else " (it cannot be downloaded automatically)")
    return DatasetUnavailableError(
        f"dataset {name!r} is not on disk under {root}: put {files} there (the data root is "
        f"--bench-data DIR or $BENCH_DATA){fetch}"
    )


def _idx_paths(name: str, folder: str, root: Path) -> list[Path]:
    raw = root / folder / "raw"
    paths = []
    for stem in MNIST_STEMS:
        found = [p for p in (raw / stem, raw / f"{stem}.gz") if p.is_file()]
        if not found:
            raise _missing(name, root, f"{folder}/raw/{{{','.join(MNIST_STEMS)}}}[.gz]")
        paths.append(found[0])
    return paths


def _load_idx_set(name: str, folder: str, mean: float, std: float, root: Path) -> Splits:
    import torch  # on loading: the registry is read without torch

    from bench.data.arrays import ImageArrays

    arrays = [read_idx(p) for p in _idx_paths(name, folder, root)]
    splits = []
    for images, labels in (arrays[:2], arrays[2:]):
        if images.ndim != 3 or len(images) != len(labels):
            raise InvalidValueError(f"{name}: {images.shape} images do not match {labels.shape} labels")
        splits.append(ImageArrays(torch.from_numpy(images.copy()).unsqueeze(1),
                                  torch.from_numpy(labels.astype(np.int64)), (mean,), (std,)))
    return splits[0], splits[1]


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only (CIFAR batches need nothing else)."""

    ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    })

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels of one CIFAR python batch file."""
    with open(path, "rb") as f:
        batch = _ArrayUnpickler(f, encoding="bytes").load()
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(batch[label_key.encode()], dtype=np.int64)
    if len(images) != len(labels):
        raise InvalidValueError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, labels


def _check_cifar(name: str, folder: str, names: tuple[str, ...], root: Path) -> None:
    if not all((root / folder / f).is_file() for f in names):
        raise _missing(name, root, f"{folder}/{{{','.join(names)}}} (the python version)")


def _load_cifar(name: str, folder: str, train_files: tuple[str, ...], test_file: str,
                label_key: str, mean: tuple, std: tuple, root: Path) -> Splits:
    import torch

    from bench.data.arrays import ImageArrays

    _check_cifar(name, folder, (*train_files, test_file), root)
    base = root / folder
    out = []
    for files in (train_files, (test_file,)):
        parts = [read_cifar_batch(base / f, label_key) for f in files]
        images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
        labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
        out.append(ImageArrays(images, labels, mean, std))
    return out[0], out[1]


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _imagenet_transform(train: bool):
    from torchvision import transforms as T

    crop = [T.RandomResizedCrop(224), T.RandomHorizontalFlip()] if train else \
        [T.Resize(256), T.CenterCrop(224)]
    return T.Compose([*crop, T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def _check_imagenet(root: Path) -> None:
    if not ((root / "imagenet" / "train").is_dir() and (root / "imagenet" / "val").is_dir()):
        raise _missing("imagenet", root, "imagenet/train/<wnid>/*.JPEG and imagenet/val/<wnid>/*.JPEG",
                       downloadable=False)


def load_imagenet(root: Path) -> Splits:
    """ImageNet as two ImageFolder trees, imagenet/train/<class>/* and imagenet/val/<class>/*."""
    from torchvision.datasets import ImageFolder

    _check_imagenet(root)
    base = root / "imagenet"
    train = ImageFolder(str(base / "train"), transform=_imagenet_transform(False))
    test = ImageFolder(str(base / "val"), transform=_imagenet_transform(False))
    if train.classes != test.classes:
        raise InvalidValueError(f"imagenet: train has {len(train.classes)} classes and val "
                         f"{len(test.classes)}; the class folders must match")
    return train, test


def augment_arrays(train: Dataset) -> Dataset:
    """The CIFAR training augmentation: random crop with padding 4 and horizontal flip."""
    from bench.data.arrays import crop_flip

    return train.with_augmentation(crop_flip(4))  # type: ignore[attr-defined]


def augment_imagenet(train: Dataset) -> Dataset:
    """The ImageNet training augmentation: random resized crop to 224 and horizontal flip."""
    import copy

    out = copy.copy(train)
    out.transform = _imagenet_transform(True)  # type: ignore[attr-defined]
    return out


def _download(kind: str, root: Path) -> None:
    import torchvision.datasets as tvd

    getattr(tvd, kind)(str(root), train=True, download=True)
    getattr(tvd, kind)(str(root), train=False, download=True)


CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
MNIST_FILES = "MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"
register(DatasetSpec(
    name="mnist", num_classes=10, input_shape=(1, 28, 28), train_size=60000, test_size=10000,
    source="disk: " + MNIST_FILES, files=MNIST_FILES,
    load=partial(_load_idx_set, "mnist", "MNIST", 0.1307, 0.3081),
    download=partial(_download, "MNIST"), check=lambda root: _idx_paths("mnist", "MNIST", root) and None,
))
FASHION_FILES = "FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"
register(DatasetSpec(
    name="fashion_mnist", num_classes=10, input_shape=(1, 28, 28), train_size=60000,
    test_size=10000, source="disk: " + FASHION_FILES, files=FASHION_FILES,
    load=partial(_load_idx_set, "fashion_mnist", "FashionMNIST", 0.2860, 0.3530),
    download=partial(_download, "FashionMNIST"),
    check=lambda root: _idx_paths("fashion_mnist", "FashionMNIST", root) and None,
))
CIFAR10_FILES = "cifar-10-batches-py/{data_batch_1..5,test_batch}"
register(DatasetSpec(
    name="cifar10", num_classes=10, input_shape=(3, 32, 32), train_size=50000, test_size=10000,
    source="disk: " + CIFAR10_FILES, files=CIFAR10_FILES,
    load=partial(_load_cifar, "cifar10", "cifar-10-batches-py", CIFAR10_TRAIN, "test_batch",
                 "labels", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    augment=augment_arrays, augmentation="random crop (padding 4) + horizontal flip",
    pretrain_recipe="pretrain-cifar", finetune_recipe="finetune-cifar", eval_batch_size=1000,
    download=partial(_download, "CIFAR10"),
    check=partial(_check_cifar, "cifar10", "cifar-10-batches-py", (*CIFAR10_TRAIN, "test_batch")),
))
CIFAR100_FILES = "cifar-100-python/{train,test}"
register(DatasetSpec(
    name="cifar100", num_classes=100, input_shape=(3, 32, 32), train_size=50000, test_size=10000,
    source="disk: " + CIFAR100_FILES, files=CIFAR100_FILES,
    load=partial(_load_cifar, "cifar100", "cifar-100-python", ("train",), "test", "fine_labels",
                 (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    augment=augment_arrays, augmentation="random crop (padding 4) + horizontal flip",
    pretrain_recipe="pretrain-cifar", finetune_recipe="finetune-cifar", eval_batch_size=1000,
    download=partial(_download, "CIFAR100"),
    check=partial(_check_cifar, "cifar100", "cifar-100-python", ("train", "test")),
))
IMAGENET_FILES = "imagenet/{train,val}/<wnid>/*.JPEG (ImageFolder trees)"
register(DatasetSpec(
    name="imagenet", num_classes=1000, input_shape=(3, 224, 224), train_size=1281167,
    test_size=50000, source="disk: " + IMAGENET_FILES, files=IMAGENET_FILES, load=load_imagenet,
    augment=augment_imagenet, augmentation="random resized crop 224 + horizontal flip "
    "(eval: resize 256, center crop 224)",
    pretrain_recipe="pretrain-imagenet", finetune_recipe="finetune-imagenet", eval_batch_size=256,
    check=_check_imagenet,
))
