"""The prune step of channel methods (KIND = "channel"): scores from the method, channels removed
physically with torch-pruning to the case's target in parameters or MACs, the model replaced."""

from __future__ import annotations

import time
import warnings

from torch import nn

from bench.context import build_context
from bench.structured.search import prune_to_target
from bench.structured.select import validate_scores

DEFAULT_SCOPE = "global"


class TiedScoresWarning(UserWarning):
    """A channel method's scores tied where they decided which channels went."""


def prune_channels(run, ratio: float, batch, check_untouched) -> nn.Module:
    """Ask the method of `run` (a CaseRun) for channel scores and return the model with the lowest
    channels removed so that it is `ratio` x smaller than the dense model in the case's unit."""
    case, model, method = run.case, run.model, run.method
    ctx = build_context(model, ratio, batch, case.seed, case.include_classifier, unit=case.target)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    start = time.perf_counter()
    scores = method.prune(model, ratio, ctx)
    run.row["prune_seconds"] += time.perf_counter() - start
    check_untouched(model, before, case.method)
    validate_scores(scores, model, case.method)
    scope = method.attributes.get("SCOPE", DEFAULT_SCOPE)
    example = batch[0][:1].to(next(model.parameters()).device)
    dense = run.env.dense[run.spec.key]
    model.eval()
    result = prune_to_target(model, scores, ctx.target, dense, example, scope, case.round_to)
    run.row.update(channel_scope=scope, channel_fraction=result.fraction,
                   target_achieved=result.achieved, target_tolerance=result.tolerance,
                   channel_ties=result.ties)
    if result.ties:
        warnings.warn(f"channel method {case.method!r} ({case.id}): {result.ties:.0%} of the removed "
                      f"channels tied a kept channel's score and were chosen by index, not by score; "
                      f"the target {ratio:g}x was met at {result.achieved:.3g}x (row: channel_ties)",
                      TiedScoresWarning, stacklevel=2)
    pruned = result.model.to(run.env.device)
    pruned.zero_grad(set_to_none=True)
    run.removed_channels = any(result.removed.values()) or run.removed_channels
    return pruned
