"""Tables for reading a grid: paired comparisons, rank stability across conditions, the first
ratio below dense, compression-versus-speedup winners, and the reporting checklist."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np

from bench.analysis import stats
from bench.errors import InvalidValueError
from bench.harness.case import CONDITION_KEYS
from bench.results.schema import passed

# What a ranking can be compared across: any condition of a case, or the identity of the
# weights and the recipe behind it (each determined by conditions).
CONDITIONS = (*CONDITION_KEYS, "pretrained_key", "pretrained_sha256", "recipe_key",
              "pretrain_recipe_key")


def _passed(rows: Iterable[dict], metric: str = "top1") -> list[dict]:
    return [r for r in passed(rows) if r.get(metric) is not None]


def _settings(rows: list[dict]) -> list[str]:
    """dataset, arch and the conditions that vary in `rows`: one panel per combination."""
    return ["dataset", "arch", *(c for c in CONDITION_KEYS if len({r.get(c) for r in rows}) > 1)]


def _short(value) -> str:
    """A condition's value for a column title: hashes cut to 12 hex digits, like every key."""
    text = str(value)
    return text[:12] if len(text) == 64 and all(ch in "0123456789abcdef" for ch in text) else text


def _determined_by(rows: list[dict], by: str, other: str) -> bool:
    """True when each value of `by` goes with one value of `other` (e.g. recipe_key fixes
    finetune_recipe): holding `other` fixed would then split every value of `by` apart."""
    seen: dict = {}
    return all(seen.setdefault(r.get(by), r.get(other)) == r.get(other) for r in rows)


def paired_table(rows: Iterable[dict], a: str, b: str, metric: str = "top1") -> list[dict]:
    """Method `a` minus method `b` per (dataset, arch, ratio, pattern), paired on seed and weights;
    for perplexity (lower is better) `a` wins a pair when its difference is negative."""
    lower = metric in LOWER_IS_BETTER
    out = []
    for cell, p in stats.paired_on(_passed(rows, metric), "method", a, b, metric,
                                   within=("dataset", "arch", "ratio", "pattern")):
        wins = p.pairs - p.a_wins - p.ties if lower else p.a_wins
        line = {"dataset": p.dataset, "arch": p.arch, "ratio": p.ratio, "pattern": cell[3]}
        out.append(line | {"pairs": p.pairs, f"{metric} {a} - {b}": p.mean_diff,
                           "ci95_low": p.ci_low, "ci95_high": p.ci_high,
                           f"{a} wins": f"{wins}/{p.pairs}", "p_value": p.p_value})
    if all(line["pattern"] in (None, "unstructured") for line in out):  # one pattern: no column
        out = [{k: v for k, v in line.items() if k != "pattern"} for line in out]
    return out


LOWER_IS_BETTER = {"perplexity"}


def lm_winners_table(rows: Iterable[dict]) -> list[dict]:
    """Best method (lowest mean perplexity over seeds) per (dataset, arch, ratio, pattern), with
    the runner-up and the dense perplexity."""
    out = []
    rows = _passed(rows, "perplexity")
    for (dataset, arch, ratio, pattern), rs in stats.group(rows, ["dataset", "arch", "ratio",
                                                                  "pattern"]).items():
        means = sorted((stats.summarize(r["perplexity"] for r in m_rows).mean, method)
                       for (method,), m_rows in stats.group(rs, ["method"]).items())
        out.append({"dataset": dataset, "arch": arch, "ratio": ratio, "pattern": pattern,
                    "best": means[0][1], "perplexity": means[0][0],
                    "runner-up": means[1][1] if len(means) > 1 else None,
                    "its perplexity": means[1][0] if len(means) > 1 else None,
                    "dense": stats.summarize(r["perplexity_dense"] for r in rs).mean})
    return out


def rank_table(rows: Iterable[dict], by: str, min_ratio: float = 2) -> tuple[list[dict], list[dict]]:
    """Rank of each method under each value of condition `by`, everything else held fixed:
    rows are grouped by dataset, arch and the other conditions, and within a group only the
    (ratio, seed) cells present under every value of `by` count (ratios >= `min_ratio`).
    Returns the rank rows and Kendall's tau between every pair of conditions."""
    if by not in CONDITIONS:
        raise InvalidValueError(f"--by must be one of {', '.join(CONDITIONS)}, not {by!r}")
    tables, taus = [], []
    held = [r for r in _passed(rows) if r["ratio"] >= min_ratio]
    others = [c for c in CONDITION_KEYS if c != by and len({r.get(c) for r in held}) > 1
              and not _determined_by(held, by, c)]
    for fixed, rs in stats.group(held, ["dataset", "arch", *others]).items():
        conditions = stats.group(rs, [by])
        if len(conditions) < 2:
            continue
        cells = set.intersection(*({(r["method"], r["ratio"], r["seed"]) for r in c}
                                   for c in conditions.values()))
        ranks = {cond[0]: stats.rank_methods(
                     [r for r in c if (r["method"], r["ratio"], r["seed"]) in cells])
                 for cond, c in conditions.items()}
        held_fixed = ", ".join(f"{k}={v}" for k, v in zip(others, fixed[2:], strict=True))
        for method in sorted({m for r in ranks.values() for m in r}):
            tables.append({"dataset": fixed[0], "arch": fixed[1], "held fixed": held_fixed,
                           "method": method}
                          | {f"rank @ {by}={_short(c)}": r.get(method) for c, r in ranks.items()})
        for c1, c2 in itertools.combinations(ranks, 2):
            taus.append({"dataset": fixed[0], "arch": fixed[1], "held fixed": held_fixed,
                         "condition A": f"{by}={_short(c1)}", "condition B": f"{by}={_short(c2)}",
                         "cells": len({(r, s) for _, r, s in cells}),
                         "kendall_tau": stats.kendall_tau(ranks[c1], ranks[c2]),
                         "same ranking": ranks[c1] == ranks[c2]})
    return tables, taus


def first_drop_table(rows: Iterable[dict], points: float = 0.01) -> list[dict]:
    """For each method, the first ratio at which mean top-1 is more than `points` below dense."""
    rows = _passed(rows)
    keys = _settings(rows)
    out = []
    for setting, rs in stats.group(rows, keys).items():
        for (_, _, method), ratio in stats.first_ratio_below_dense(rs, points).items():
            out.append(dict(zip(keys, setting, strict=True)) | {
                "method": method,
                f"first ratio > {points * 100:g} pt below dense": ratio if ratio is not None
                else "never"})
    return out


def _curve(rows: list[dict], x: str) -> tuple[np.ndarray, np.ndarray]:
    points = sorted((np.log2(stats.summarize(r[x] for r in rs).mean),
                     stats.summarize(r["top1"] for r in rs).mean)
                    for _, rs in stats.group(rows, ["ratio"]).items())
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def winners_table(rows: Iterable[dict], levels: Sequence[float] = (2, 4, 8, 16)) -> list[dict]:
    """Best method at a fixed compression and at a fixed theoretical speedup (accuracy
    interpolated on log2 of the axis), per (dataset, arch) and level. Levels outside a
    method's measured range are not extrapolated."""
    out = []
    rows = _passed(rows)
    keys = _settings(rows)
    for setting, rs in stats.group(rows, keys).items():
        methods = stats.group(rs, ["method"])
        for level in levels:
            entry = dict(zip(keys, setting, strict=True)) | {"level": level}
            for axis in ("compression", "speedup_theoretical"):
                best, best_acc = None, -math.inf
                for (method,), m_rows in methods.items():
                    xs, ys = _curve(m_rows, axis)
                    if len(xs) == 0 or not xs[0] <= np.log2(level) <= xs[-1]:
                        continue
                    acc = float(np.interp(np.log2(level), xs, ys))
                    if acc > best_acc:
                        best, best_acc = method, acc
                label = "compression" if axis == "compression" else "speedup"
                entry[f"best at {label}"] = best
                entry[f"top1 at {label}"] = best_acc if best else None
            out.append(entry)
    return out


def checklist_table(rows: Iterable[dict]) -> list[dict]:
    """The paper's reporting checklist per (dataset, arch, method): 'yes' or 'NO' per item."""
    return [{"dataset": d, "arch": a, "method": m}
            | {name: "yes" if ok else "NO" for name, ok in checks.items()}
            for (d, a, m), checks in stats.checklist(rows).items()]
