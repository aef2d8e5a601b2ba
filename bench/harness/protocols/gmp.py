"""Gradual magnitude pruning (Zhu & Gupta, "To prune, or not to prune", 2017): sparsity rises on
a cubic schedule while the model is finetuned; the method is called at each pruning step."""

from __future__ import annotations

from bench.harness.protocols.registry import Option, ProtocolOptionError, control, mask_control, protocol
from bench.harness.steps import CaseRun


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError("a fraction of the finetuning steps, between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("at least 1")
    return value


def schedule(keep: float, steps: int, prunings: int, begin: float, end: float
             ) -> list[tuple[int, float]]:
    """(after optimizer step, fraction of prunable weights kept) of each pruning event: the
    sparsity s_j = s_f (1 - (1 - j/n)^3) at steps spread evenly from `begin` to `end` (fractions
    of the `steps`), j = 1..n; the last event lands exactly on `keep`."""
    t0, t1 = round(begin * steps), round(end * steps)
    out = []
    for j in range(1, prunings + 1):
        sparsity = (1 - keep) * (1 - (1 - j / prunings) ** 3)
        out.append((max(1, round(t0 + j * (t1 - t0) / prunings)), 1 - sparsity))
    return out


@protocol("gmp", {
    "prunings": Option(10, "pruning steps n of the cubic schedule", _positive),
    "begin": Option(0.0, "fraction of the finetuning steps where pruning starts", _fraction),
    "end": Option(0.75, "fraction of the finetuning steps where the target is reached", _fraction),
    "control": control("shuffle", "invert"),
}, refuses=lambda kind, options: mask_control(kind, options["control"]))
def gmp(run: CaseRun) -> None:
    """Finetune the pretrained model with the case's recipe while pruning it gradually; the
    sanity control 'shuffle' permutes the final masks, 'invert' inverts every pruning step."""
    o = run.options
    if o["end"] < o["begin"]:
        raise ProtocolOptionError(f"gmp: end={o['end']} comes before begin={o['begin']}")
    run.load("trained")
    keep = run.keep_for(run.case.ratio)
    if keep >= 1:  # nothing to prune: the dense model as it is
        run.prune(run.case.ratio)
        run.measure()
        return
    recipe = run.finetune_recipe
    events = schedule(keep, recipe.epochs * run.steps_per_epoch(recipe), o["prunings"],
                      o["begin"], o["end"])

    fired = []

    def prune_due(step: int) -> None:
        for i, (at, fraction) in enumerate(events):
            if at == step:
                fired.append(i)
                last = i == len(events) - 1
                ratio = run.case.ratio if last else run.ratio_for(fraction)
                chosen = o["control"] if last or o["control"] == "invert" else ""
                run.model.eval()  # scores see the model as evaluated
                run.prune(ratio, control=chosen)
                run.model.train()

    run.train(recipe, phase="finetune", every_step=prune_due)
    if len(fired) != len(events):
        raise ProtocolOptionError(f"gmp: only {len(fired)} of {len(events)} pruning steps fell "
                                  f"inside the {recipe.epochs}-epoch finetuning; lower `end`")
    run.measure()
