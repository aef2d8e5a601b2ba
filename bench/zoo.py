"""Pretrained-model cache: each (dataset, arch, recipe, seed) is trained once and then reused."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock
from torch import nn

from bench import data, models, recipes
from bench.data.loaders import make_loader
from bench.recipes import Recipe, stable_hash
from bench.train import evaluate, train

ZOO_FORMAT = 1  # bump when the checkpoint layout changes; old entries are then retrained


@dataclass(frozen=True)
class PretrainedSpec:
    """Everything that determines a pretrained model's weights."""

    dataset: str
    arch: str
    recipe: Recipe
    seed: int = 0

    @property
    def key(self) -> str:
        """Hash of dataset, architecture, recipe and seed: the model's name in the cache."""
        return stable_hash({"dataset": self.dataset, "arch": self.arch,
                            "recipe": self.recipe.key, "seed": self.seed, "format": ZOO_FORMAT})


@dataclass
class Pretrained:
    """A cached pretrained model: its weights, its spec and its dense accuracy on the test split."""

    spec: PretrainedSpec
    state_dict: dict[str, torch.Tensor]
    meta: dict

    def build(self) -> nn.Module:
        """A new model holding these weights."""
        ds = data.get(self.spec.dataset)
        model = models.build(self.spec.arch, ds.input_shape, ds.num_classes, ds.name)
        model.load_state_dict(self.state_dict)
        return model.eval()


def default_cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The cache root: explicit value, else $BENCH_CACHE, else the user's cache directory."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("BENCH_CACHE"):
        return Path(os.environ["BENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "prunebench"


class Zoo:
    """The pretrained models under one cache folder, loaded at most once per process."""

    def __init__(self, root: str | os.PathLike | None = None,
                 data_root: str | os.PathLike | None = None, device: str = "cpu") -> None:
        self.root = default_cache_dir(root)
        self.data_root = Path(data_root) if data_root else None
        self.device = device
        self._memory: dict[str, Pretrained] = {}
        self.trained: list[str] = []  # keys this process trained (for tests and logs)

    def paths(self, key: str) -> tuple[Path, Path]:
        """Weights file and metadata file of `key`."""
        folder = self.root / key
        return folder / "weights.pt", folder / "meta.json"

    def get(self, spec: PretrainedSpec) -> Pretrained:
        """The pretrained model of `spec`, trained now if no valid cached copy exists."""
        key = spec.key
        if key in self._memory:
            return self._memory[key]
        found = self._load(spec)
        if found is None:
            self.root.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.root / f"{key}.lock")):
                found = self._load(spec)  # another process may have finished meanwhile
                if found is None:
                    found = self._train(spec)
        self._memory[key] = found
        return found

    def cached(self, verify: bool = False) -> list[dict]:
        """Metadata of every entry in the cache folder; with `verify`, each gets `valid`
        (its weights match the checksum recorded at write time)."""
        out = []
        for meta_path in sorted(self.root.glob("*/meta.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if verify:
                weights = meta_path.parent / "weights.pt"
                meta["valid"] = weights.is_file() and meta.get("sha256") == _sha256(weights)
            out.append(meta)
        return out

    def pretrain(self, datasets: list[str], archs: list[str], seeds: list[int],
                 recipe: str | None = None) -> list[Pretrained]:
        """Make sure every (dataset, arch, seed) is in the cache, training what is missing;
        `recipe` names the pretraining recipe (default: each dataset's own)."""
        out = []
        for name in datasets:
            for arch in archs:
                chosen = recipes.get(recipe or data.get(name).pretrain_recipe_for(arch))
                out.extend(self.get(PretrainedSpec(name, arch, chosen, seed)) for seed in seeds)
        return out

    def _load(self, spec: PretrainedSpec) -> Pretrained | None:
        weights, meta_path = self.paths(spec.key)
        if not (weights.is_file() and meta_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("sha256") != _sha256(weights):
                raise ValueError("checksum mismatch")
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupted or truncated: never load it, retrain instead
            import warnings

            warnings.warn(f"pretrained cache entry {spec.key} is corrupted ({exc}); retraining",
                          stacklevel=2)
            return None
        return Pretrained(spec, state, meta)

    def _train(self, spec: PretrainedSpec) -> Pretrained:
        ds = data.get(spec.dataset)
        train_set, test_set = data.load(spec.dataset, self.data_root, augment=spec.recipe.augment)
        torch.manual_seed(spec.seed)
        model = models.build(spec.arch, ds.input_shape, ds.num_classes, ds.name)
        loader = make_loader(train_set, spec.recipe.batch_size, shuffle=True, seed=spec.seed)
        start = time.perf_counter()
        logs = train(model, loader, spec.recipe, device=self.device, seed=spec.seed)
        seconds = time.perf_counter() - start
        model.cpu()
        result = evaluate(model, make_loader(test_set, ds.eval_batch_size, shuffle=False))
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        weights, meta_path = self.paths(spec.key)
        weights.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(weights, lambda f: torch.save(state, f))
        meta = {
            "key": spec.key, "dataset": spec.dataset, "arch": spec.arch, "seed": spec.seed,
            "recipe_key": spec.recipe.key, "recipe": spec.recipe.to_dict(),
            "top1": result.top1, "top5": result.top5, "loss": result.loss,
            "train_seconds": round(seconds, 3), "threads": torch.get_num_threads(),
            "final_train_loss": logs[-1].train_loss if logs else None,
            "sha256": _sha256(weights), "torch": torch.__version__,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _atomic_write(meta_path, lambda f: f.write(json.dumps(meta, indent=2).encode()))
        self.trained.append(spec.key)
        return Pretrained(spec, state, meta)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
