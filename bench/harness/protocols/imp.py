"""Iterative magnitude pruning with rewinding: the lottery-ticket procedure (Frankle & Carbin,
ICLR 2019; Frankle et al., ICML 2020) and Renda et al.'s variants (ICLR 2020).

Each round prunes a fraction of the weights still kept, calling the method with the current
masks, then rewinds and trains again. The rounds of a trajectory do not depend on the target:
the state after each round is cached under the trajectory's identity, so the case at 32x picks
up where the case at 16x left the shared rounds instead of repeating them."""

from __future__ import annotations

import math

from bench.harness.protocols.registry import (
    Option,
    ProtocolOptionError,
    control,
    mask_control,
    protocol,
)
from bench.harness.steps import CaseRun
from bench.training.cache import entry_key
from bench.training.recipes import stable_hash

TRAJECTORY_FORMAT = 1  # bump when a round's meaning changes; cached rounds are then redone


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise ValueError("the fraction of the kept weights pruned per round, between 0 and 1")
    return value


def _step(text: str) -> int | str:
    if text == "epoch":
        return text
    value = int(text)
    if value < 0:
        raise ValueError("a step of pretraining (>= 0) or 'epoch'")
    return value


def rounds(keep: float, fraction: float) -> list[float]:
    """Fraction of the prunable weights kept after each round: (1 - fraction)^i, the same for
    every target, until the next would pass `keep`; the last round lands exactly on `keep`."""
    if keep >= 1:
        return []
    n = max(1, math.ceil(math.log(keep) / math.log(1 - fraction) - 1e-9))
    return [(1 - fraction) ** i for i in range(1, n)] + [keep]


def _refuses(kind: str, options: dict) -> str:
    """Channel methods: their removed channels cannot be rewound to a dense checkpoint."""
    if kind == "channel" and options["rewind"] == "weights":
        return ("imp rewinds the weights to a dense checkpoint, which a channel method's removed "
                "channels cannot take; use oneshot, gmp or scratch")
    return mask_control(kind, options["control"] if options["control"] != "reinit" else "")


@protocol("imp", {
    "fraction": Option(0.2, "fraction of the kept weights pruned per round", _fraction),
    "rewind": Option("weights", "between rounds: weights (rewind weights and learning rate to "
                     "rewind_step), lr (keep weights, rewind the learning rate) or finetune "
                     "(keep weights, train with the finetuning recipe)",
                     choices=("weights", "lr", "finetune")),
    "rewind_step": Option("epoch", "step of pretraining to rewind to ('epoch': one epoch)", _step),
    "control": control("shuffle", "invert", "reinit"),
}, refuses=_refuses)
def imp(run: CaseRun) -> None:
    """Rounds of pruning and retraining from the pretrained model to the case's ratio.
    Controls: 'shuffle' permutes the final masks within layers, 'reinit' trains the final sparse
    network from a fresh random initialisation (the lottery ticket's random-reinit control),
    'invert' inverts every round's ranking."""
    o = run.options
    step = _rewind_step(run)
    if o["rewind"] == "weights":  # first: pretrained weights and checkpoint from one run
        run.env.zoo.checkpoint(run.spec, step)
    run.load("trained")
    run.row["keep_fraction"] = target = run.keep_for(run.case.ratio)  # kept if all is cached
    keeps = rounds(target, o["fraction"])
    if not keeps:  # ratio 1: the dense model as it is
        run.prune(run.case.ratio)
        run.measure()
        return
    cache = run.env.zoo.cache
    keys = [_key(run, i, keep, last=i == len(keeps) - 1) for i, keep in enumerate(keeps)]
    start = next((i + 1 for i in reversed(range(len(keys))) if _restore(run, keys[i])), 0)
    computed = 0
    for i in range(start, len(keeps)):
        with cache.lock(keys[i]):  # a worker on another ratio may be running this very round
            if _restore(run, keys[i]):
                continue
            _round(run, i, keeps, step)
            computed += 1
            cost = {k: run.row[k] for k in ("train_steps", "train_examples", "prune_seconds",
                                            "prune_steps", "epochs")}
            cache.store(keys[i], run.snapshot(), {
                "kind": "imp-round", "round": i + 1, "keep": keeps[i], "row": cost,
                "dataset": run.case.dataset, "arch": run.case.arch, "method": run.case.method,
                "seed": run.case.seed, "recipe_key": run.pretrain_recipe.key})
    run.row["resumed_rounds"] = len(keeps) - computed
    run.measure()


def _rewind_step(run: CaseRun) -> int:
    """The rewind step, 'epoch' resolved; recorded in the row's options."""
    step = run.options["rewind_step"]
    if step == "epoch":
        step = run.steps_per_epoch(run.pretrain_recipe)
    total = run.pretrain_recipe.epochs * run.steps_per_epoch(run.pretrain_recipe)
    if step >= total:
        raise ProtocolOptionError(f"imp: rewind_step={step} is not inside the {total} steps of "
                                  "pretraining; ask for an earlier step")
    run.set_option("rewind_step", step)
    return step


def _round(run: CaseRun, i: int, keeps: list[float], step: int) -> None:
    """Round i + 1: prune to keeps[i] (the case's ratio in the last round), then retrain."""
    o, last = run.options, i == len(keeps) - 1
    chosen = o["control"] if last or o["control"] == "invert" else ""
    run.prune(run.case.ratio if last else run.ratio_for(keeps[i]),
              control="" if chosen == "reinit" else chosen)
    if chosen == "reinit":  # the same sparse network from a fresh init, trained from scratch
        run.reinitialise()
        run.train(run.pretrain_recipe, phase="retrain", round_=i + 1)
    elif o["rewind"] == "weights":
        run.rewind("checkpoint", step)
        run.train(run.pretrain_recipe, phase="retrain", round_=i + 1, start_step=step)
    elif o["rewind"] == "lr":
        run.train(run.pretrain_recipe, phase="retrain", round_=i + 1, start_step=step)
    else:
        run.train(run.finetune_recipe, phase="finetune", round_=i + 1)


def _key(run: CaseRun, i: int, keep: float, last: bool) -> str:
    """Cache key of the state after round i + 1: the trajectory's identity (method version,
    pretrained weights, seed, recipes, options) and the round. A control other than 'invert'
    changes only the last round, so the rounds before it are shared with the plain run."""
    options = dict(run.options)
    if options["control"] != "invert" and not last:
        options["control"] = ""
    case = {k: v for k, v in run.case.non_default().items() if k not in ("ratio", "protocol")}
    return entry_key("imp-round", stable_hash({
        "format": TRAJECTORY_FORMAT, "case": case, "method_hash": run.row["method_hash"],
        "pretrained": run.row["pretrained_sha256"], "pretrain": run.pretrain_recipe.key,
        "finetune": run.finetune_recipe.key, "options": options, "round": i + 1,
        "keep": repr(keep)}))


def _restore(run: CaseRun, key: str) -> bool:
    """Put the cached state `key` into the run (weights, masks and the cost so far)."""
    found = run.env.zoo.cache.load(key)
    if found is None:
        return False
    state, meta = found
    run.restore(state)
    run.row.update(meta["row"])
    return True
