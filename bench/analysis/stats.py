"""Statistics for reading results: spread over seeds, paired comparisons, rank stability."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.errors import InvalidValueError
from bench.harness.case import PAIR_KEYS
from bench.results.schema import passed


class AmbiguousPairError(InvalidValueError):
    """Two rows claim the same place in a pairing (the same seed, weights and conditions)."""


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and two-sided 95% t-interval of a few values (`clipped`:
    the interval was cut at the bounds of the data, e.g. [0, 1] for an accuracy)."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    clipped: bool = False


def summarize(values: Iterable[float], bounds: tuple[float, float] | None = None) -> Summary:
    """Summary of `values` (NaN spread for fewer than two values). With `bounds`, the t-interval
    is clipped to them (a t-interval of three accuracies can run past 0 or 1) and says so."""
    from scipy import stats as sps  # on use: importing it costs a second

    x = np.asarray([v for v in values if v is not None], dtype=float)
    n = len(x)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return Summary(1, mean, math.nan, math.nan, math.nan)
    std = float(x.std(ddof=1))
    half = float(sps.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    if bounds is None or (bounds[0] <= low and high <= bounds[1]):
        return Summary(n, mean, std, low, high)
    return Summary(n, mean, std, max(low, bounds[0]), min(high, bounds[1]), clipped=True)


def group(rows: Iterable[dict], keys: Sequence[str]) -> dict[tuple, list[dict]]:
    """Rows grouped by the values of `keys`, groups in sorted key order."""
    out: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        out[tuple(row.get(k) for k in keys)].append(row)
    return dict(sorted(out.items(), key=lambda kv: tuple(_sortable(v) for v in kv[0])))


def _sortable(value):
    return (value is None, value if value is not None else 0)


@dataclass(frozen=True)
class Paired:
    """Method A minus method B on the cases both ran with the same seed and pretrained weights."""

    dataset: str
    arch: str
    ratio: float
    pairs: int
    mean_diff: float
    ci_low: float
    ci_high: float
    a_wins: int
    p_value: float  # paired t-test; with 3 seeds it has little power, read the interval
    ties: int = 0  # pairs whose difference is exactly zero




def paired(rows: Iterable[dict], a: str, b: str, metric: str = "top1") -> list[Paired]:
    """Paired comparison of methods `a` and `b` on `metric`, per (dataset, arch, ratio)."""
    return [p for _, p in paired_on(rows, "method", a, b, metric)]


def rank_methods(rows: Iterable[dict], metric: str = "top1") -> dict[str, int]:
    """Rank 1 = best mean `metric` over the rows given (ties share the better rank)."""
    means = {m: summarize(r[metric] for r in rs).mean
             for (m,), rs in group(rows, ["method"]).items()}
    ordered = sorted(means.values(), reverse=True)
    return {m: 1 + ordered.index(v) for m, v in sorted(means.items())}


def kendall_tau(rank_a: dict[str, int], rank_b: dict[str, int]) -> float:
    """Kendall's tau-b between two rankings over their common methods (NaN if under 2)."""
    from scipy import stats as sps  # on use: importing it costs a second

    common = sorted(set(rank_a) & set(rank_b))
    if len(common) < 2:
        return math.nan
    return float(sps.kendalltau([rank_a[m] for m in common], [rank_b[m] for m in common]).statistic)


def first_ratio_below_dense(rows: Iterable[dict], points: float = 0.01) -> dict[tuple, float | None]:
    """For each (dataset, arch, method): the smallest ratio whose mean top-1 is more than
    `points` (a fraction: 0.01 = one point) below the mean dense top-1; None if never."""
    out = {}
    for key, rs in group(rows, ["dataset", "arch", "method"]).items():
        out[key] = None
        for (ratio,), at in group(rs, ["ratio"]).items():
            dense = summarize(r["top1_dense"] for r in at).mean
            if summarize(r["top1"] for r in at).mean < dense - points:
                out[key] = ratio
                break
    return out


CHECKS: dict[str, Callable[[list[dict], list[dict]], bool]] = {
    # A baseline counts as compared with itself: the item asks that the baseline be in the table.
    "compared with random": lambda own, peers: any(r["method"] == "random" for r in own + peers),
    "compared with magnitude": lambda own, peers: any(
        str(r["method"]).startswith("magnitude") for r in own + peers),
    "several ratios (>= 3 above 1)": lambda own, peers: len(
        {r["ratio"] for r in own if r["ratio"] > 1}) >= 3,
    "several seeds (>= 3) with spread": lambda own, peers: min(
        (len(rs) for rs in group(own, ["ratio"]).values()), default=0) >= 3,
    "compression and speedup": lambda own, peers: all(
        r.get("compression") is not None and r.get("speedup_theoretical") is not None for r in own),
    "dense accuracy given": lambda own, peers: all(r.get("top1_dense") is not None for r in own),
    "architecture pinned": lambda own, peers: all(
        r.get("arch") and r.get("pretrained_key") for r in own),
}


def checklist(rows: Iterable[dict]) -> dict[tuple, dict[str, bool]]:
    """The paper's reporting checklist per (dataset, arch, method), on passed rows."""
    rows = passed(rows)
    out = {}
    for (dataset, arch), rs in group(rows, ["dataset", "arch"]).items():
        for (method,), own in group(rs, ["method"]).items():
            peers = [r for r in rs if r["method"] != method]
            out[(dataset, arch, method)] = {name: bool(check(own, peers))
                                            for name, check in CHECKS.items()}
    return out


def paired_on(rows: Iterable[dict], field: str, a: str, b: str, metric: str = "top1",
              within: Sequence[str] = ("dataset", "arch", "ratio"),
              ignore: Sequence[str] = ()) -> list[tuple[tuple, Paired]]:
    """Paired comparison of the rows whose `field` is `a` with those whose `field` is `b` (e.g.
    two protocols of one method), on the rows that agree on everything else that pairs them:
    PAIR_KEYS and the method, less `field` and `ignore`. One result per value of `within`."""
    from scipy import stats as sps  # on use: importing it costs a second

    keys = [k for k in (*PAIR_KEYS, "method") if k != field and k not in ignore]
    by_key: dict[tuple, dict[str, float]] = defaultdict(dict)
    for row in rows:
        if row.get(field) in (a, b) and row.get(metric) is not None:
            values = by_key[tuple(row.get(k) for k in keys)]
            if row[field] in values:  # e.g. two versions of a method's source on one seed
                raise AmbiguousPairError(
                    f"two rows of {field}={row[field]} pair with the same seed and conditions "
                    f"({row.get('method')}, {row.get('dataset')}, {row.get('arch')}, ratio "
                    f"{row.get('ratio')}, seed {row.get('seed')}), most likely two versions of a "
                    "method; pair one version at a time (leave out --versions all)")
            values[row[field]] = row[metric]
    diffs: dict[tuple, list[float]] = defaultdict(list)
    for key, values in by_key.items():
        if a in values and b in values:
            cell = dict(zip(keys, key, strict=True))
            diffs[tuple(cell.get(k) for k in within)].append(values[a] - values[b])
    out = []
    for cell, d in sorted(diffs.items(), key=lambda kv: tuple(_sortable(v) for v in kv[0])):
        s = summarize(d)
        p = float(sps.ttest_1samp(d, 0.0).pvalue) if len(d) > 1 and np.ptp(d) > 1e-9 else math.nan
        get = dict(zip(within, cell, strict=True)).get
        out.append((cell, Paired(get("dataset"), get("arch"), get("ratio"), s.n, s.mean,
                                 s.ci_low, s.ci_high, sum(x > 0 for x in d), p,
                                 sum(x == 0 for x in d))))
    return out
