"""Protocols: when a case prunes and trains. Each is a short script over the steps of CaseRun."""

from __future__ import annotations

from collections.abc import Callable

from bench.harness.case import DEFAULT_PROTOCOL
from bench.harness.steps import CaseRun
from bench.registry import Registry

Protocol = Callable[[CaseRun], None]
PROTOCOLS: Registry[Protocol] = Registry("protocol")


def protocol(name: str) -> Callable[[Protocol], Protocol]:
    """Register the decorated function as the protocol `name`."""
    def register(fn: Protocol) -> Protocol:
        return PROTOCOLS.register(name, fn)
    return register


@protocol(DEFAULT_PROTOCOL)
def oneshot(run: CaseRun) -> None:
    """Prune the pretrained model once, finetune with the case's recipe, measure (ShrinkBench).
    Nothing pruned (ratio 1): the dense model is measured as it is."""
    run.load("trained")
    run.prune(run.case.ratio)
    if run.pruned:
        run.train(run.finetune_recipe, phase="finetune")
    run.measure()


@protocol("scratch")
def scratch(run: CaseRun) -> None:
    """Liu et al.'s control ("Rethinking the Value of Network Pruning", ICLR 2019): prune the
    pretrained model as oneshot does, then train the pruned architecture (its widths, or its
    masks) from a fresh initialisation with the pretraining recipe, the dense model's budget."""
    run.load("trained")
    run.prune(run.case.ratio)
    if run.pruned:
        run.reinitialise()
        run.train(run.pretrain_recipe, phase="scratch")
    run.measure()
