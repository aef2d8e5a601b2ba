"""The pretrained-model zoo: weights specs, their cache entries, and pretraining on request.

Three kinds of weights: initial (an architecture initialised by seed), trained (a recipe run to
the end) and a checkpoint at a given step of that run (saved on request, for rewinding).
Loading never trains; `ensure` and `pretrain` train what is missing, and say so.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bench import data, models
from bench.errors import BenchError
from bench.training import recipes
from bench.training.cache import WeightsCache
from bench.training.recipes import Recipe, stable_hash
from bench.training.trainer import THREADS, initial_model, pretrain

ZOO_FORMAT = 1  # bump when the checkpoint layout changes; old entries are then retrained


class MissingWeightsError(BenchError, LookupError):
    """The weights asked for are not in the cache (training them must be asked for)."""


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

    def checkpoint_key(self, step: int) -> str:
        """Cache key of the weights after `step` optimizer steps of this pretraining run."""
        return stable_hash({"pretrained": self.key, "step": int(step)})


@dataclass
class Pretrained:
    """Cached weights: their spec, state dict and metadata (dense accuracy, sha256, ...)."""

    spec: PretrainedSpec
    state_dict: dict[str, torch.Tensor]
    meta: dict

    def build(self) -> nn.Module:
        """A new model holding these weights."""
        ds = data.get(self.spec.dataset)
        model = models.build(self.spec.arch, ds.input_shape, ds.num_classes, ds.name)
        model.load_state_dict(self.state_dict)
        return model.eval()


class Zoo:
    """The weights under one cache folder, each loaded at most once per process."""

    def __init__(self, root: str | os.PathLike | None = None,
                 data_root: str | os.PathLike | None = None, device: str = "cpu") -> None:
        self.cache = WeightsCache(root)
        self.root = self.cache.root
        self.data_root = Path(data_root) if data_root else None
        self.device = device
        self._memory: dict[str, Pretrained] = {}
        self.trained: list[str] = []  # keys this process trained (for tests and logs)

    def paths(self, key: str) -> tuple[Path, Path]:
        """Weights file and metadata file of `key`."""
        return self.cache.paths(key)

    def load(self, spec: PretrainedSpec, step: int | None = None) -> Pretrained:
        """The trained weights of `spec` (or its checkpoint after `step` steps) from the cache;
        never trains: a missing entry is an error that says how to make it."""
        key = spec.key if step is None else spec.checkpoint_key(step)
        if not self._cached(spec, key):
            what = "pretrained weights" if step is None else f"checkpoint at step {step}"
            raise MissingWeightsError(
                f"no {what} of {spec.arch} on {spec.dataset} (recipe {spec.recipe.key}, seed "
                f"{spec.seed}) in {self.root}; make them with `python -m bench zoo pretrain "
                f"--datasets {spec.dataset} --archs {spec.arch} --seeds {spec.seed}`")
        return self._memory[key]

    def ensure(self, spec: PretrainedSpec, steps: tuple[int, ...] = ()) -> Pretrained:
        """The trained weights of `spec`, pretraining them now (with checkpoints after `steps`)
        when the cache lacks them or one of those checkpoints."""
        keys = [spec.key, *(spec.checkpoint_key(s) for s in steps)]
        if not all(self._cached(spec, k) for k in keys):
            with self.cache.lock(spec.key):  # another process may have finished it meanwhile
                if not all(self._cached(spec, k) for k in keys):
                    self._train(spec, steps)
        return self.load(spec)

    def _cached(self, spec: PretrainedSpec, key: str) -> bool:
        """True when `key` is in memory or loads intact from the cache (then kept in memory).
        Trained weights made with another thread count than pretraining's fixed one (by an
        older version) count as missing, so that they are made again the reproducible way."""
        if key not in self._memory:
            found = self.cache.load(key)
            if found is None or found[1].get("threads", THREADS) != THREADS:
                return False
            self._memory[key] = Pretrained(spec, *found)
        return True

    def checkpoint(self, spec: PretrainedSpec, step: int) -> Pretrained:
        """The weights after `step` optimizer steps of pretraining `spec` (trained if missing)."""
        self.ensure(spec, (step,))
        return self.load(spec, step)

    def initial(self, spec: PretrainedSpec) -> nn.Module:
        """A model with the initial weights of `spec`'s pretraining run (same seed, never cached:
        initialisation is cheap and deterministic)."""
        return initial_model(spec.dataset, spec.arch, spec.seed).eval()

    def cached(self, verify: bool = False) -> list[dict]:
        """Metadata of every entry; with `verify`, each gets `valid` (checksum matches)."""
        return self.cache.entries(verify)

    def pretrain(self, datasets: list[str], archs: list[str], seeds: list[int],
                 recipe: str | None = None) -> list[Pretrained]:
        """Make sure every (dataset, arch, seed) is in the cache, training what is missing;
        `recipe` names the pretraining recipe (default: each dataset's own)."""
        out = []
        for name in datasets:
            for arch in archs:
                chosen = recipes.get(recipe or data.get(name).pretrain_recipe_for(arch))
                out.extend(self.ensure(PretrainedSpec(name, arch, chosen, seed)) for seed in seeds)
        return out

    def _train(self, spec: PretrainedSpec, steps: tuple[int, ...]) -> None:
        state, meta, saved = pretrain(spec.dataset, spec.arch, spec.recipe, spec.seed,
                                      data_root=self.data_root, device=self.device,
                                      checkpoint_steps=steps)
        old = self._memory.pop(spec.key, None)
        meta = self.cache.store(spec.key, state, meta)
        if old is not None and old.meta.get("sha256") != meta["sha256"]:
            warnings.warn(f"retraining {spec.key} for its checkpoints gave other final weights "
                          "(sha256 differs): pretraining is not deterministic here", stacklevel=3)
        for step, ckpt in saved.items():
            self.cache.store(spec.checkpoint_key(step), ckpt,
                             {"pretrained": spec.key, "step": step, "dataset": spec.dataset,
                              "arch": spec.arch, "seed": spec.seed, "recipe_key": spec.recipe.key})
        self.trained.append(spec.key)
