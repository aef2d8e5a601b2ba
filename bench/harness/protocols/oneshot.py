"""The one-shot protocol (ShrinkBench): prune the pretrained model once, finetune, measure."""

from __future__ import annotations

from bench.harness.case import DEFAULT_PROTOCOL
from bench.harness.protocols.registry import control, mask_control, protocol
from bench.harness.steps import CaseRun


@protocol(DEFAULT_PROTOCOL, {"control": control("shuffle", "invert")},
          refuses=lambda kind, options: mask_control(kind, options["control"]))
def oneshot(run: CaseRun) -> None:
    """Prune the pretrained model once, finetune with the case's recipe, measure (ShrinkBench).
    Nothing pruned (ratio 1): the dense model is measured as it is. Language-model cases are not
    finetuned (their task's finetune step does nothing)."""
    run.load("trained")
    run.prune(run.case.ratio, control=run.options.get("control", ""))
    if run.pruned:
        run.finetune()
    run.measure()
