"""Liu et al.'s control: the pruned architecture trained from scratch with the dense budget."""

from __future__ import annotations

from bench.harness.protocols.registry import protocol
from bench.harness.steps import CaseRun


@protocol("scratch")
def scratch(run: CaseRun) -> None:
    """("Rethinking the Value of Network Pruning", ICLR 2019): prune the pretrained model as
    oneshot does, then train the pruned architecture (its widths, or its masks) from a fresh
    initialisation with the pretraining recipe, the dense model's budget."""
    run.load("trained")
    run.prune(run.case.ratio)
    if run.pruned:
        run.reinitialise()
        run.train(run.pretrain_recipe, phase="scratch")
    run.measure()
