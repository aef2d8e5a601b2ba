"""Pruning followed by a short recovery (LLM-Pruner's recipe in small): prune the pretrained
language model once, then train it for a few hundred next-token steps on windows of the corpus's
training split, and measure. The row keeps the perplexity before recovery and the steps spent, so
that pruned-and-recovered is compared with pruned alone in one row, and with the one-shot case of
the same seed."""

from __future__ import annotations

from bench.harness.protocols.registry import Option, protocol
from bench.harness.steps import CaseRun


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be a number above 0")
    return value


@protocol("recover", {
    "steps": Option(100, "next-token training steps after pruning", _positive_int),
    "batch": Option(4, "windows of the training split per step", _positive_int),
    "lr": Option(1e-4, "AdamW learning rate (cosine to zero over the steps)", _positive_float)},
    refuses=lambda kind, options: "")
def recover(run: CaseRun) -> None:
    """Prune once, measure the perplexity, recover with `steps` next-token steps (masks held,
    removed structures stay removed), measure (language-model cases only)."""
    run.load("trained")
    run.prune(run.case.ratio)
    if run.pruned:
        run.recover(run.options["steps"], run.options["batch"], run.options["lr"])
    run.measure()
