"""Pruning at initialisation (SNIP, GraSP, SynFlow): prune the initial weights, train from scratch."""

from __future__ import annotations

from bench.harness.protocols.registry import control, mask_control, protocol
from bench.harness.steps import CaseRun


@protocol("at_init", {"control": control("shuffle", "invert", "reinit")},
          refuses=lambda kind, options: mask_control(kind, options["control"]))
def at_init(run: CaseRun) -> None:
    """Prune the initialisation of the pretrained model (its seed), then train the sparse network
    with the pretraining recipe. At ratio 1 this is pretraining itself: with the case seed equal
    to the pretraining seed it gives the pretrained weights bit for bit."""
    chosen = run.options.get("control", "")
    run.load("initial")
    run.prune(run.case.ratio, control=chosen)
    if chosen == "reinit":
        run.reinitialise()
    run.train(run.pretrain_recipe, phase="train")
    run.measure()
