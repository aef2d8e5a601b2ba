"""Language models, measured beside theoretical speedup: prefill and decode tokens-per-second
speedups per method with their spread over seeds, and the lowest perplexity at a fixed measured
prefill speedup beside the lowest at the same theoretical one."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from bench.analysis import stats
from bench.analysis.aggregate import stable
from bench.analysis.realisation import (
    AT_LEVEL,
    _by_model,
    _label,
    _one,
    _timings_of,
    _unstable,
    median_iqr,
)
from bench.harness.case import CONDITION_KEYS
from bench.results.schema import passed

PREFILL, DECODE = "speedup_measured_prefill", "speedup_measured_decode"


def _lm(rows: Iterable[dict]) -> list[dict]:
    return [r for r in passed(rows) if r.get("task") == "lm" and r.get("perplexity") is not None]


def lm_realisation_table(rows: Iterable[dict], retimes: Iterable[dict] = ()) -> list[dict]:
    """Per (dataset, arch, conditions, method, ratio, pattern): perplexity, theoretical speedup
    (MACs per token), measured prefill and decode speedups (median and IQR over seeds, figures
    that failed their A/A check left out and counted), and the realisation gap of prefill. With
    `retimes` (later timings of the kept models, python -m bench retime --save), the median and
    range of their stable prefill speedups beside."""
    rows = _lm(rows)
    timed = _by_model(retimes)
    conditions = [c for c in CONDITION_KEYS if len({r.get(c) for r in rows}) > 1]
    keys = ["dataset", "arch", *conditions, "method", "ratio", "pattern"]
    out = []
    for key, rs in stats.group(rows, keys).items():
        theory, theory_iqr = median_iqr(r["speedup_theoretical"] for r in rs)
        prefill, prefill_iqr = median_iqr(stable(r, PREFILL) for r in rs)
        decode, decode_iqr = median_iqr(stable(r, DECODE) for r in rs)
        out.append(dict(zip(keys, key, strict=True)) | {
            "n": len(rs), "kind": _one(rs, "method_kind"),
            "perplexity": stats.summarize(r["perplexity"] for r in rs).mean,
            "dense": stats.summarize(r["perplexity_dense"] for r in rs).mean,
            "speedup theor.": theory, "theor. IQR": theory_iqr,
            "prefill": prefill, "prefill IQR": prefill_iqr,
            "decode": decode, "decode IQR": decode_iqr,
            "gap prefill": prefill / theory if prefill and theory else None,
            "unstable prefill": _unstable(rs, PREFILL), "unstable decode": _unstable(rs, DECODE),
            "backend": _one(rs, "latency_backend"), "threads": _one(rs, "latency_threads"),
            "under load": any(r.get("latency_parallel") for r in rs)}
            | (_retimed(rs, timed) if timed else {}))
    return out


def _retimed(rows: list[dict], timed: dict[tuple, list[dict]]) -> dict:
    """How many later timings of `rows`' kept models, and the median and range of the stable
    prefill speedups among them."""
    entries = [e for r in rows for e in _timings_of(r, timed)]
    values = [e[PREFILL] for e in entries if e.get("latency_stable") and e.get(PREFILL)]
    median, _ = median_iqr(values)
    return {"retimed": len(entries), "retimed prefill": median,
            "retimed range": f"{min(values):.3g}-{max(values):.3g}" if values else None}


def _curve(rows: list[dict], axis: str) -> tuple[np.ndarray, np.ndarray]:
    """(log2 speedup, log perplexity) per ratio, means over seeds, in order of speedup."""
    points = []
    for _, rs in stats.group(rows, ["ratio"]).items():
        xs = [stable(r, axis) for r in rs]
        xs = [x for x in xs if x and math.isfinite(x)]
        if xs:
            points.append((np.log2(np.mean(xs)), np.mean([math.log(r["perplexity"]) for r in rs])))
    points.sort()
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def lm_measured_winners_table(rows: Iterable[dict], levels: Sequence[float] = (1.25, 1.5, 2)
                              ) -> list[dict]:
    """The lowest perplexity at a fixed measured prefill speedup and at the same theoretical
    speedup: each method's curve over its ratios (per pattern and varying condition),
    log-perplexity interpolated on log2 of the axis, never extrapolated."""
    rows = _lm(rows)
    out = []
    for (dataset, arch), rs in stats.group(rows, ["dataset", "arch"]).items():
        varying = [k for k in (*CONDITION_KEYS, "pattern") if len({r.get(k) for r in rs}) > 1]
        curves = {_label(key, varying): m_rows
                  for key, m_rows in stats.group(rs, ["method", *varying]).items()}
        for level in levels:
            entry = {"dataset": dataset, "arch": arch, "level": level}
            for axis, label in ((PREFILL, "measured prefill"), ("speedup_theoretical", "theoretical")):
                best, lowest = None, math.inf
                for name, m_rows in curves.items():
                    xs, ys = _curve(m_rows, axis)
                    if len(xs) and xs[0] - AT_LEVEL <= np.log2(level) <= xs[-1] + AT_LEVEL:
                        value = float(np.interp(np.log2(level), xs, ys))
                        if value < lowest:
                            best, lowest = name, value
                entry[f"best at {label}"] = best
                entry[f"perplexity at {label}"] = math.exp(lowest) if best else None
            out.append(entry)
    return out
