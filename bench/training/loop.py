"""Training and exact evaluation: the fixed loop every pretraining and finetuning run goes through."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from bench.training.recipes import Recipe


@dataclass(frozen=True)
class Evaluation:
    """Exact counts over a whole evaluation set (never averaged per batch)."""

    top1: float
    top5: float
    loss: float
    examples: int


@dataclass(frozen=True)
class EpochLog:
    """One finished training epoch: mean training loss and accuracy over its examples."""

    epoch: int
    train_loss: float
    train_top1: float
    lr: float


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over the model's parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum,
                           nesterov=recipe.nesterov and recipe.momentum > 0,
                           weight_decay=recipe.weight_decay)


def lr_factor(recipe: Recipe, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Multiplier of the peak learning rate at optimizer step `step` (0-based)."""
    warmup = recipe.warmup_epochs * steps_per_epoch
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    if recipe.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if recipe.schedule == "step":
        return recipe.step_gamma ** sum(progress >= m for m in recipe.step_milestones)
    return 1.0


def train(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    recipe: Recipe,
    *,
    device: torch.device | str = "cpu",
    after_step: Callable[[], None] | None = None,
    seed: int = 0,
    start_step: int = 0,
) -> list[EpochLog]:
    """Train `model` in place with `recipe`; `after_step` runs after every optimizer step
    (mask enforcement hooks in there). Returns one log per epoch. With `start_step`, the run
    resumes the recipe there: the first `start_step` steps (their batches and their part of the
    schedule) are skipped, as when rewinding to a checkpoint of pretraining."""
    torch.manual_seed(seed)  # dropout and any other randomness inside the model
    model.to(device).train()
    optimizer = make_optimizer(model, recipe)
    loss_fn = nn.CrossEntropyLoss()
    steps_per_epoch = len(loader)  # type: ignore[arg-type]
    total = recipe.epochs * steps_per_epoch
    step, logs = 0, []
    for epoch in range(recipe.epochs):
        if step + steps_per_epoch <= start_step:  # a whole epoch before the start: not drawn
            step += steps_per_epoch
            continue
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        seen = 0
        for x, y in loader:
            if step < start_step:
                step += 1
                continue
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            lr = recipe.lr * lr_factor(recipe, step, total, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            out = model(x)
            loss = loss_fn(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step()
            loss_sum += loss.detach() * len(y)
            correct += (out.detach().argmax(1) == y).sum()
            seen += len(y)
            step += 1
        logs.append(EpochLog(epoch, float(loss_sum) / seen, int(correct) / seen, lr))
    model.eval()
    return logs


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable[tuple[Tensor, Tensor]], device: torch.device | str = "cpu"
) -> Evaluation:
    """Top-1, top-5 and mean loss over every example of `loader`, counted exactly."""
    model.to(device).eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    top1 = torch.zeros((), dtype=torch.long, device=device)
    top5 = torch.zeros((), dtype=torch.long, device=device)
    loss = torch.zeros((), device=device)
    n = 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        out = model(x)
        loss += loss_fn(out, y)
        k = min(5, out.shape[1])
        hits = out.topk(k, dim=1).indices == y[:, None]
        top1 += hits[:, 0].sum()
        top5 += hits.any(dim=1).sum()
        n += len(y)
    if n == 0:
        raise ValueError("evaluation set is empty")
    return Evaluation(int(top1) / n, int(top5) / n, float(loss) / n, n)
