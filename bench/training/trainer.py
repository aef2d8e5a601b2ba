"""Pretraining: the one place where weights for the cache are trained (asked for by name)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from bench import data, models
from bench.data.loaders import make_loader
from bench.training.loop import evaluate, train
from bench.training.recipes import Recipe

# CPU threads of pretraining, whatever the process uses: a matrix product or a convolution sums
# in another order on another thread count, so the weights would depend on it (and on -n).
THREADS = 1


def initial_model(dataset: str, arch: str, seed: int) -> nn.Module:
    """The architecture initialised under `seed`: the very weights pretraining starts from."""
    ds = data.get(dataset)
    torch.manual_seed(seed)
    return models.build(arch, ds.input_shape, ds.num_classes, ds.name)


def pretrain(dataset: str, arch: str, recipe: Recipe, seed: int, *, data_root: Path | None = None,
             device: str = "cpu", checkpoint_steps: Iterable[int] = ()
             ) -> tuple[dict[str, torch.Tensor], dict, dict[int, dict[str, torch.Tensor]]]:
    """Train from the initial weights of `seed` with `recipe`, with THREADS CPU threads, so that
    the weights are the same whatever the caller's thread count. Returns the final state dict,
    its metadata (dense accuracy, time, threads, versions) and a state dict after each optimizer
    step in `checkpoint_steps` (for rewinding)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        return _pretrain(dataset, arch, recipe, seed, data_root, device, checkpoint_steps)
    finally:
        torch.set_num_threads(previous)


def _pretrain(dataset: str, arch: str, recipe: Recipe, seed: int, data_root: Path | None,
              device: str, checkpoint_steps: Iterable[int]
              ) -> tuple[dict[str, torch.Tensor], dict, dict[int, dict[str, torch.Tensor]]]:
    ds = data.get(dataset)
    train_set, test_set = data.load(dataset, data_root, augment=recipe.augment)
    model = initial_model(dataset, arch, seed)
    loader = make_loader(train_set, recipe.batch_size, shuffle=True, seed=seed)
    wanted, saved, done = set(checkpoint_steps), {}, [0]

    def after_step() -> None:
        done[0] += 1
        if done[0] in wanted:
            saved[done[0]] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    start = time.perf_counter()
    logs = train(model, loader, recipe, device=device, seed=seed,
                 after_step=after_step)
    seconds = time.perf_counter() - start
    model.cpu()
    result = evaluate(model, make_loader(test_set, ds.eval_batch_size, shuffle=False))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    missing = wanted - set(saved) - ({0} if 0 in wanted else set())
    if missing:
        raise ValueError(f"checkpoint steps {sorted(missing)} are beyond the {done[0]} steps of "
                         "pretraining; ask for a step inside it")
    if 0 in wanted:
        saved[0] = {k: v.detach().clone() for k, v in
                    initial_model(dataset, arch, seed).state_dict().items()}
    meta = {
        "dataset": dataset, "arch": arch, "seed": seed, "recipe_key": recipe.key,
        "recipe": recipe.to_dict(), "top1": result.top1, "top5": result.top5,
        "loss": result.loss, "train_seconds": round(seconds, 3),
        "train_steps": done[0], "threads": torch.get_num_threads(),
        "final_train_loss": logs[-1].train_loss if logs else None, "torch": torch.__version__,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return state, meta, saved
