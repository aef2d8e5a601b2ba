"""The prune step of channel methods (KIND = "channel") on a language model: the method scores
the units of every coupled structure on the calibration windows, the lowest are chosen to meet
the case's target in parameters or MACs per token (bench.lm.plan), and they are removed from the
model physically (bench.lm.shrink)."""

from __future__ import annotations

import time
import warnings

import torch
from torch import Tensor, nn

from bench.context import PruneContext, Target
from bench.harness.channels import DEFAULT_SCOPE, TiedScoresWarning
from bench.harness.steps import _check_untouched
from bench.lm import plan as plans
from bench.lm import shrink
from bench.lm.calibrate import DenseCalibration
from bench.lm.structures import HEADS, structures


def prune_structures(model: nn.Module, ratio: float, method, case, calib: Tensor,
                     generator: torch.Generator, dense: dict, other_macs: float,
                     prunable: dict[str, nn.Parameter], row: dict, store: dict) -> nn.Module:
    """`model` (still the dense model) with the structure units the method scores lowest
    removed, in place, so that it is `ratio` x smaller than the dense model (`dense`:
    params_dense, macs_dense per token) in the case's target unit; what was chosen goes into
    `row`. `store` keeps what is measured of the dense model on these windows (ctx.inputs)."""
    found = structures(model)
    inputs = DenseCalibration(model, calib, [n.removesuffix(".weight") for n in prunable], store)
    target = Target(ratio, case.target)
    ctx = PruneContext(model=model, compression=ratio, prunable=prunable, keep_fraction=1 / ratio,
                       batch=(calib, calib), loss_fn=None, generator=generator, classifier="",
                       target=target, inputs=inputs, structures=found)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    start = time.perf_counter()
    scores = method.prune(model, ratio, ctx)
    row["prune_seconds"] += time.perf_counter() - start
    row["prune_steps"] += 1
    _check_untouched(model, before, case.method)
    del before
    scores = plans.validate(scores, found, case.method)
    scope = method.attributes.get("SCOPE", DEFAULT_SCOPE)
    costs = plans.unit_costs(model, found, case.target, other_macs)
    total = dense["params_dense"] if case.target == "params" else dense["macs_dense"]
    chosen, tolerance = plans.search(found, scores, costs, total, target, scope, case.round_to)
    ties = plans.tied(scores, chosen.removed, scope)
    shrink.remove(model, found, chosen.removed)
    units = sum(s.units for s in found)
    removed = sum(len(v) for v in chosen.removed.values())
    heads = [s for s in found if s.kind == HEADS]
    row.update(channel_scope=scope, channel_fraction=removed / units, target_tolerance=tolerance,
               channel_ties=ties, heads_removed=sum(len(chosen.removed.get(s.name, ())) for s in heads),
               heads_total=sum(s.units for s in heads))
    if ties:
        warnings.warn(f"channel method {case.method!r} ({case.id}): {ties:.2%} of the removed units "
                      f"tied a kept unit's score and were chosen by index, not by score "
                      f"(row: channel_ties)", TiedScoresWarning, stacklevel=2)
    return model
