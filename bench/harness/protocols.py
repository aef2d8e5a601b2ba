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
