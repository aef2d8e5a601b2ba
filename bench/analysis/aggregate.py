"""Aggregation over seeds: one line per group of a report, the conditions that vary, a summary."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from bench.analysis.stats import summarize
from bench.harness.case import CONDITION_KEYS, GROUP_KEYS
from bench.results.schema import FAILED, passed

# Figures aggregated over seeds; delta_top1 = top1 - top1_dense (fractions, like top1).
METRICS = ("top1", "delta_top1", "top1_dense", "compression", "speedup_theoretical",
           "speedup_measured")
# ... of language-model cases: perplexity (lower is better) and tokens per second
LM_METRICS = ("perplexity", "perplexity_dense", "keep_fraction_achieved", "compression",
              "speedup_theoretical", "speedup_measured_prefill", "speedup_measured_decode")
# Measured figures and the flag of their stability: left out of every view and plot when it is
# false (the realisation gaps are measured figures too).
MEASURED = {"speedup_measured": "latency_stable", "speedup_measured_batch": "latency_batch_stable",
            "realisation_gap": "latency_stable", "realisation_gap_batch": "latency_batch_stable",
            "speedup_measured_prefill": "latency_stable",
            "speedup_measured_decode": "latency_batch_stable"}
# Where the values of a metric can lie: its confidence interval is clipped to them.
BOUNDS = {"top1": (0.0, 1.0), "top1_dense": (0.0, 1.0), "top5": (0.0, 1.0),
          "delta_top1": (-1.0, 1.0), "perplexity": (1.0, math.inf)}


def stable(row: dict, metric: str):
    """`row[metric]`, or None where it is a measured figure that its row flags unstable."""
    return None if metric in MEASURED and row.get(MEASURED[metric]) is False else row.get(metric)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean, None for no values."""
    return summarize(values).mean if values else None


def std(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1), None below two values."""
    return summarize(values).std if len(values) > 1 else None


def ci95(values: Sequence[float]) -> float | None:
    """Half-width of the two-sided 95% t-interval of the mean, None below two values (unclipped;
    with this stat, `aggregate` adds the interval clipped to the metric's BOUNDS)."""
    if len(values) < 2:
        return None
    s = summarize(values)
    return s.ci_high - s.mean


Stat = Callable[[Sequence[float]], "float | None"]
STATS: dict[str, Stat] = {"mean": mean, "std": std}


def varying(rows: Iterable[dict], keys: Sequence[str] = CONDITION_KEYS) -> list[str]:
    """The keys that take more than one value over the passed rows (conditions worth a column)."""
    rows = passed(rows)
    return [k for k in keys if len({r.get(k) for r in rows}) > 1]


def report_keys(rows: Sequence[dict]) -> tuple[str, ...]:
    """Grouping of the report: dataset, arch, any varying condition, method, ratio, and the
    pattern where the rows have more than one."""
    keys = (*GROUP_KEYS[:2], *varying(rows), *GROUP_KEYS[2:])
    if len({r.get("pattern") or "unstructured" for r in passed(rows)}) <= 1:
        keys = tuple(k for k in keys if k != "pattern")
    return keys


def task_of(row: dict) -> str:
    """The task of a row ('classification' for rows written before tasks were recorded)."""
    return row.get("task") or "classification"


def _sort_key(key: tuple) -> tuple:
    return tuple((v is None, v if v is not None else 0) if not isinstance(v, str) else (False, v)
                 for v in key)


def aggregate(rows: Iterable[dict], keys: Sequence[str] = GROUP_KEYS,
              metrics: Sequence[str] = METRICS, stats: dict[str, Stat] | None = None) -> list[dict]:
    """One dict per group of `keys`: the keys, `n` (passed cases), `failed` (failed or errored
    cases that never passed), `failed_later` (passed cases whose later re-run failed) and
    `<metric>_<stat>` over the passed cases' non-missing values (NaN kept, so a broken figure
    shows; a measured speedup its row flags unstable is left out). Sorted by the keys."""
    stats = STATS if stats is None else stats
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    out = []
    for key in sorted(groups, key=_sort_key):
        members = groups[key]
        ok = passed(members)
        line = dict(zip(keys, key, strict=True))
        line["n"] = len(ok)
        line["failed"] = sum(r.get("status") in FAILED for r in members)
        line["failed_later"] = sum(r.get("later_status") in FAILED for r in ok)
        for metric in metrics:
            values = [r[metric] for r in ok if stable(r, metric) is not None]
            for name, fn in stats.items():
                line[f"{metric}_{name}"] = fn(values)
            if "ci95" in stats and metric in BOUNDS:  # the interval itself, within the bounds
                s = summarize(values, BOUNDS[metric]) if len(values) > 1 else None
                line[f"{metric}_ci95_low"] = s.ci_low if s else None
                line[f"{metric}_ci95_high"] = s.ci_high if s else None
                line[f"{metric}_ci95_clipped"] = s.clipped if s else None
        out.append(line)
    return out


def unstable(rows: Iterable[dict]) -> dict[str, int]:
    """Passed rows whose measured speedup at batch 1 (the report's) is flagged unstable, counted
    by what failed ('batch 1: A/A', 'batch 1: IQR'; the figures of each row are in its reason)."""
    out: dict[str, int] = {}
    for r in passed(rows):
        if r.get("latency_stable") is False:
            reason = str(r.get("latency_unstable_reason") or "unstable")
            kind = ", ".join(f"{b}: {what}" for b, what in
                             re.findall(r"(batch 1): (A/A|IQR)", reason)) or reason
            out[kind] = out.get(kind, 0) + 1
    return out


def summary(rows: Sequence[dict]) -> dict:
    """What the selection covers: runs, cases by status, unfinished runs (killed, or still
    going), latencies taken under parallel load."""
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.get("status")] = statuses.get(r.get("status"), 0) + 1
    return {"runs": sorted({r["run_id"] for r in rows}), "cases": len(rows), "statuses": statuses,
            "unfinished_runs": sorted({r["run_id"] for r in rows if r.get("run_finished_at") is None}),
            "failed_later": sum(r.get("later_status") in FAILED for r in rows),
            "latency_unstable": unstable(rows),
            "latency_under_load": sum(bool(r.get("latency_parallel")) and r.get("latency_ms") is not None
                                      for r in rows)}
