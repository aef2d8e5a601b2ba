"""Tables that compare protocols: accuracy and training cost per protocol, each protocol against
one-shot and each sanity control against its plain protocol (paired over seeds, 95% intervals),
and methods against each other within a protocol."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bench.analysis import stats
from bench.results.schema import passed

BASELINE = "oneshot"
WITHIN = ("dataset", "arch", "include_classifier", "method", "ratio")
# Methods compared within each protocol by default: the at-init methods with each other.
METHOD_PAIRS = (("synflow", "snip"), ("synflow", "grasp"), ("snip", "grasp"))


def _rows(rows: Iterable[dict]) -> list[dict]:
    return [r for r in passed(rows) if r.get("top1") is not None and r.get("protocol")]


def plain(protocol: str) -> str:
    """The protocol string without its `control` option (the run a control is compared with)."""
    name, _, text = protocol.partition(":")
    kept = [p for p in text.split(",") if p and not p.startswith("control=")]
    return f"{name}:{','.join(kept)}" if kept else name


def _mean(values: Iterable) -> float | None:
    s = stats.summarize(v for v in values if v is not None)
    return s.mean if s.n else None


def cost_table(rows: Iterable[dict]) -> list[dict]:
    """Per (dataset, arch, classifier, method, ratio, protocol): seeds, top-1 mean, std and 95%
    interval, and what it cost to train: steps after the pretrained weights (train_steps) and
    with the pretraining they start from (total steps, the axis for equal-cost comparisons)."""
    out = []
    for key, rs in stats.group(_rows(rows), (*WITHIN, "protocol")).items():
        s = stats.summarize(r["top1"] for r in rs)
        out.append(dict(zip((*WITHIN, "protocol"), key, strict=True)) | {
            "seeds": s.n, "top1 mean": s.mean, "top1 std": s.std,
            "ci95_low": s.ci_low, "ci95_high": s.ci_high,
            "train steps": _mean(r.get("train_steps") for r in rs),
            "total steps": _mean((r.get("train_steps") or 0) + (r.get("pretrain_steps") or 0)
                                 for r in rs),
            "resumed rounds": _mean(r.get("resumed_rounds") for r in rs)})
    return out


def _paired_rows(rows: list[dict], field: str, a: str, b: str, label: dict) -> list[dict]:
    out = []
    for cell, p in stats.paired_on(rows, field, a, b, within=WITHIN):
        out.append(dict(zip(WITHIN, cell, strict=True)) | label | {
            "pairs": p.pairs, "top1 diff": p.mean_diff, "ci95_low": p.ci_low,
            "ci95_high": p.ci_high, "A wins": f"{p.a_wins}/{p.pairs}", "p_value": p.p_value})
    return out


def protocol_pairs(rows: Iterable[dict], baseline: str = BASELINE) -> list[dict]:
    """Each protocol minus `baseline`, and each sanity control minus its plain protocol, for the
    same method, ratio, seed and pretrained weights (top-1, fractions; paired over seeds)."""
    rows = _rows(rows)
    protocols = sorted({r["protocol"] for r in rows})
    out = []
    for variant in protocols:
        reference = plain(variant) if plain(variant) != variant else baseline
        if variant == reference or reference not in protocols:
            continue
        label = {"A": variant, "B": reference}
        out += _paired_rows(rows, "protocol", variant, reference, label)
    return out


def method_pairs(rows: Iterable[dict],
                 pairs: Sequence[tuple[str, str]] = METHOD_PAIRS) -> list[dict]:
    """Method A minus method B within each protocol (paired over seeds)."""
    rows = _rows(rows)
    methods = {r["method"] for r in rows}
    out = []
    for (protocol,), rs in stats.group(rows, ["protocol"]).items():
        for a, b in pairs:
            if {a, b} <= methods:
                for cell, p in stats.paired_on(rs, "method", a, b,
                                               within=("dataset", "arch", "include_classifier",
                                                       "ratio")):
                    out.append({"dataset": cell[0], "arch": cell[1], "include_classifier": cell[2],
                                "protocol": protocol, "ratio": cell[3], "A": a, "B": b,
                                "pairs": p.pairs, "top1 diff": p.mean_diff,
                                "ci95_low": p.ci_low, "ci95_high": p.ci_high,
                                "A wins": f"{p.a_wins}/{p.pairs}", "p_value": p.p_value})
    return out
