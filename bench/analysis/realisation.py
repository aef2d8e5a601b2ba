"""Measured beside theoretical speedup: the realisation gap per method, and the best method at a
fixed measured speedup (structured and unstructured together)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from bench.analysis import stats
from bench.analysis.aggregate import MEASURED as FLAGS
from bench.analysis.aggregate import stable
from bench.harness.case import CONDITION_KEYS
from bench.results.schema import passed

# a curve reaches a level when its ends lie within this (log2 units, about 0.7%) of it: a target
# met to 2.00006 is at 2x (np.interp takes the end value there)
AT_LEVEL = 0.01
MEASURED = "speedup_measured_batch"  # at the sweep's largest batch: the headline measured figure


def median_iqr(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Median and interquartile range of the finite values given (None, None if there are none)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if not len(x):
        return None, None
    q1, med, q3 = np.percentile(x, [25, 50, 75])
    return float(med), float(q3 - q1)


def _one(rows: list[dict], key: str) -> str | None:
    """The value of `key` shared by `rows`, or the values joined when they differ."""
    values = sorted({str(r.get(key)) for r in rows if r.get(key) is not None})
    return ", ".join(values) or None


def realisation_table(rows: Iterable[dict], retimes: Iterable[dict] = ()) -> list[dict]:
    """Per (dataset, arch, conditions, method, ratio): theoretical speedup, measured speedup at
    batch 1 and at the largest batch (median and IQR over seeds), the realisation gap (measured /
    theoretical), how many seeds' timings failed their A/A or IQR check (left out of the
    measured figures, as in the summary) and the conditions of the measurement (backend,
    device, threads, dtype). With
    `retimes` (later timings of the rows' kept models, python -m bench retime --save), the
    median and range of their stable largest-batch speedups beside, over seeds and passes."""
    rows = [r for r in passed(rows) if r.get("speedup_theoretical") is not None]
    timed = _by_model(retimes)
    conditions = [c for c in CONDITION_KEYS if len({r.get(c) for r in rows}) > 1]
    keys = ["dataset", "arch", *conditions, "method", "ratio"]
    out = []
    for key, rs in stats.group(rows, keys).items():
        theory, _ = median_iqr(r["speedup_theoretical"] for r in rs)
        b1, b1_iqr = median_iqr(stable(r, "speedup_measured") for r in rs)
        big, big_iqr = median_iqr(stable(r, MEASURED) for r in rs)
        gap1, _ = median_iqr(stable(r, "realisation_gap") for r in rs)
        gap, _ = median_iqr(stable(r, "realisation_gap_batch") for r in rs)
        out.append(dict(zip(keys, key, strict=True)) | {
            "n": len(rs), "kind": _one(rs, "method_kind"),
            "speedup theor.": theory, "meas. b1": b1, "meas. b1 IQR": b1_iqr,
            "batch": _one(rs, "latency_batch_size"), "meas. batch": big, "meas. batch IQR": big_iqr,
            "gap b1": gap1, "gap batch": gap,
            "unstable b1": _unstable(rs, "speedup_measured"),
            "unstable batch": _unstable(rs, MEASURED), "backend": _one(rs, "latency_backend"),
            "device": _one(rs, "device"), "threads": _one(rs, "latency_threads"),
            "dtype": _one(rs, "latency_dtype"),
            "under load": any(r.get("latency_parallel") for r in rs)}
            | (_retimed(rs, timed) if timed else {}))
    return out


def _unstable(rows: list[dict], metric: str) -> int:
    """How many of `rows` have a `metric` that their row flags unstable."""
    return sum(r.get(metric) is not None and r.get(FLAGS[metric]) is False for r in rows)


def _by_model(retimes: Iterable[dict]) -> dict[tuple, list[dict]]:
    """Later timings by the row whose very model file they timed: (run_id, nodeid, sha256)."""
    timed: dict[tuple, list[dict]] = {}
    for entry in retimes:
        timed.setdefault((entry["run_id"], entry["nodeid"], entry.get("model_sha256")), []).append(entry)
    return timed


def _timings_of(row: dict, timed: dict[tuple, list[dict]]) -> list[dict]:
    return timed.get((row.get("run_id"), row.get("nodeid"), row.get("model_sha256")), [])


def _stable(entries: Iterable[dict]) -> list[float]:
    """The largest-batch speedups of the timings that passed their A/A check."""
    return [e[MEASURED] for e in entries if e.get("latency_batch_stable") and e.get(MEASURED)]


def with_retimed(rows: Iterable[dict], retimes: Iterable[dict]) -> list[dict]:
    """`rows`, each whose kept model was timed again (python -m bench retime --save) with its
    largest-batch measured speedup replaced by the median of its stable later timings
    (`speedup_source` 'retimed'); the others as they are ('run')."""
    timed, out = _by_model(retimes), []
    for row in rows:
        stable = _stable(_timings_of(row, timed))
        out.append(row | ({MEASURED: float(np.median(stable)), "latency_batch_stable": True,
                           "speedup_source": "retimed"} if stable else {"speedup_source": "run"}))
    return out


def _retimed(rows: list[dict], timed: dict[tuple, list[dict]]) -> dict:
    """Columns of the later timings of `rows`' kept models: how many, how many failed their A/A
    check (left out), and the median, range and gap of the stable ones at the largest batch."""
    entries = [e for r in rows for e in _timings_of(r, timed)]
    stable = _stable(entries)
    theory, _ = median_iqr(r["speedup_theoretical"] for r in rows)
    median, _ = median_iqr(stable)
    return {"retimed": len(entries), "retimed unstable": len(entries) - len(stable),
            "retimed batch": median,
            "retimed range": f"{min(stable):.3g}-{max(stable):.3g}" if stable else None,
            "retimed gap": median / theory if median and theory else None}


def _curve(rows: list[dict], axis: str) -> tuple[np.ndarray, np.ndarray]:
    points = []
    for _, rs in stats.group(rows, ["ratio"]).items():
        xs = [stable(r, axis) for r in rs if stable(r, axis) and math.isfinite(r[axis])]
        if xs:
            points.append((np.log2(np.mean(xs)), np.mean([r["top1"] for r in rs])))
    points.sort()
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def measured_winners_table(rows: Iterable[dict], levels: Sequence[float] = (1.5, 2, 3, 4)) -> list[dict]:
    """The best method at a fixed measured speedup (largest batch; accuracy interpolated on log2
    of the axis, never extrapolated), beside the best at the same theoretical speedup. A method
    run under several conditions (e.g. params and MAC targets) has one curve per condition, and
    the winner is named with its condition."""
    rows = [r for r in passed(rows) if r.get("top1") is not None]
    out = []
    for (dataset, arch), rs in stats.group(rows, ["dataset", "arch"]).items():
        varying = [k for k in CONDITION_KEYS if len({r.get(k) for r in rs}) > 1]
        curves = {_label(key, varying): m_rows
                  for key, m_rows in stats.group(rs, ["method", *varying]).items()}
        for level in levels:
            entry = {"dataset": dataset, "arch": arch, "level": level}
            for axis, label in ((MEASURED, "measured"), ("speedup_theoretical", "theoretical")):
                best, best_acc = None, -math.inf
                for name, m_rows in curves.items():
                    xs, ys = _curve(m_rows, axis)
                    if len(xs) and xs[0] - AT_LEVEL <= np.log2(level) <= xs[-1] + AT_LEVEL:
                        acc = float(np.interp(np.log2(level), xs, ys))
                        if acc > best_acc:
                            best, best_acc = name, acc
                entry[f"best at {label}"] = best
                entry[f"top1 at {label}"] = best_acc if best else None
            out.append(entry)
    return out


def _label(key: tuple, varying: Sequence[str]) -> str:
    """'method' or 'method (target=macs)': a curve's name."""
    conditions = ", ".join(f"{k}={v}" for k, v in zip(varying, key[1:], strict=True))
    return f"{key[0]} ({conditions})" if conditions else key[0]
