"""The paper's figures: accuracy against compression and theoretical speedup, one line per method.

Fit for print: PDF, SVG or PNG; one legend outside the panels; a colour per method, and a
method's scope (global or layer-wise) shown by line style and marker as well, so that it reads in
black and white; ratio axes on log scale labelled 1x, 1.5x, 2x; each panel titled with its axes;
the shaded band named in the legend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure  # a bare Figure draws with Agg: no pyplot, no window
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from bench.analysis.aggregate import aggregate, stable, varying
from bench.analysis.ticks import ratio_axis
from bench.errors import InvalidValueError
from bench.results.schema import passed as passed_rows

X_AXES = {"compression": ("compression", "compression ratio (all params / nonzero)"),
          "speedup": ("speedup_theoretical", "theoretical speedup (dense MACs / nonzero MACs)"),
          # protocols (issue 13): what the model cost to train, pretraining included
          "cost": ("total_steps", "training steps (pretraining + after it)"),
          "measured": ("speedup_measured_batch",
                       "measured speedup (dense / pruned latency, largest batch)"),
          # language models: the ratio over the prunable weights (block linears), as papers give it
          "prunable": ("ratio", "ratio over the prunable weights (1 / kept fraction)")}
# named sets of x axes: both (the paper's two), speed (theoretical beside measured), all three
X_SETS = {"both": ["compression", "speedup"], "speed": ["speedup", "measured"],
          "all": ["compression", "speedup", "measured"], "lm": ["prunable", "speedup"]}
Y_AXES = {"top1": ("top1", "top-1 accuracy (%)"),
          "delta": ("delta_top1", "top-1 change from dense (points)"),
          "perplexity": ("perplexity", "perplexity (log scale; lower is better)")}
FORMATS = (".pdf", ".png", ".svg")
X_TITLES = {"compression": "compression", "speedup": "theoretical speedup", "cost": "training cost",
            "measured": "measured speedup", "prunable": "ratio of the prunable weights"}
Y_TITLES = {"top1": "top-1", "delta": "top-1 change", "perplexity": "perplexity"}
DENSE = {"perplexity": "perplexity_dense"}  # the dense figure of a y axis (default top1_dense)
# Scope of a method, read from its name's suffix: (line style, marker). Each method has its colour.
SCOPES = {"global": ("-", "o"), "layer": ("--", "s")}
OTHER_SCOPE = (":", "^")
BAND = "shaded: mean ± 1 std over seeds"


def style(method: str) -> tuple[str, str]:
    """Line style and marker of a method: solid circles for global, dashed squares for
    layer-wise, dotted triangles for the rest."""
    return SCOPES.get(method.split(" ")[0].rsplit("_", 1)[-1], OTHER_SCOPE)


def colours(methods: Sequence[str]) -> dict[str, tuple]:
    """A distinct colour per method: tab10 up to 10 methods, tab20 up to 20, a rainbow beyond."""
    if len(methods) <= 20:
        cmap = matplotlib.colormaps["tab10" if len(methods) <= 10 else "tab20"]
        return {m: cmap(i) for i, m in enumerate(methods)}
    cmap = matplotlib.colormaps["gist_rainbow"]
    return {m: cmap(i / len(methods)) for i, m in enumerate(methods)}


def _label(line: dict, conditions: Sequence[str]) -> str:
    extra = ", ".join(f"{k}={line[k]}" for k in conditions)
    pattern = line.get("pattern")
    method = f"{line['method']} {pattern}" if pattern and pattern != "unstructured" else line["method"]
    return f"{method} ({extra})" if extra else method


def figure(rows: Sequence[dict], x: str = "both", y: str = "top1") -> Figure:
    """One panel per (dataset, arch) and x axis; one line per method (and varying condition):
    mean over seeds, a band of one std, log2 x; a dashed line marks the dense model."""
    if y not in Y_AXES:
        raise InvalidValueError(f"unknown y {y!r}; choose one of {', '.join(Y_AXES)}")
    xs = X_SETS.get(x, [x])
    if any(name not in X_AXES for name in xs):
        raise InvalidValueError(f"unknown x {x!r}; choose one of {', '.join([*X_AXES, *X_SETS])}")
    # measured speedups whose A/A check failed are not findings: left out of the measured axis
    passed = [r | {"total_steps": (r.get("train_steps") or 0) + (r.get("pretrain_steps") or 0),
                   "speedup_measured_batch": stable(r, "speedup_measured_batch")}
              for r in passed_rows(rows)]
    if not passed:
        raise InvalidValueError("no passed cases to plot; check the filters (python -m bench report)")
    if x in ("all", "speed") and not any(r.get(X_AXES["measured"][0]) for r in passed):
        xs = [n for n in xs if n != "measured"]  # no latency measured (--bench-no-latency)
    conditions = varying(passed)
    keys = ("dataset", "arch", *conditions, "method", "pattern", "ratio")
    ycol, ylabel = Y_AXES[y]
    dense_col = DENSE.get(y, "top1_dense")
    metrics = [ycol, dense_col, *(X_AXES[n][0] for n in xs)]
    lines = aggregate(passed, keys, metrics)
    panels = sorted({(line["dataset"], line["arch"]) for line in lines})
    methods = sorted({_label(line, conditions) for line in lines})
    colour = colours(methods)
    # a method under several conditions (e.g. params and MAC targets): filled markers for the
    # first condition, hollow ones for the others
    settings = sorted({tuple(line[k] for k in conditions) for line in lines}, key=str)
    hollow = {_label(line, conditions) for line in lines
              if settings.index(tuple(line[k] for k in conditions)) > 0}
    fig = Figure(figsize=(5.5 * len(xs) + 2.5, 4 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), len(xs), squeeze=False)
    scale = 1.0 if y == "perplexity" else 100.0  # accuracies: fractions stored, percent drawn
    for row_axes, (dataset, arch) in zip(axes, panels, strict=True):
        here = [line for line in lines if (line["dataset"], line["arch"]) == (dataset, arch)]
        for ax, xname in zip(row_axes, xs, strict=True):
            xcol, xlabel = X_AXES[xname]
            for method in methods:
                pts = sorted((line for line in here if _label(line, conditions) == method
                              and line[f"{xcol}_mean"] is not None and line[f"{ycol}_mean"] is not None),
                             key=lambda line: line[f"{xcol}_mean"])
                if not pts:
                    continue
                px = [p[f"{xcol}_mean"] for p in pts]
                py = [p[f"{ycol}_mean"] * scale for p in pts]
                sd = [(p[f"{ycol}_std"] or 0.0) * scale for p in pts]
                linestyle, marker = style(method)
                ax.plot(px, py, linestyle=linestyle, marker=marker, ms=4, color=colour[method],
                        markerfacecolor="white" if method in hollow else colour[method],
                        label=method)
                ax.fill_between(px, [a - b for a, b in zip(py, sd, strict=True)],
                                [a + b for a, b in zip(py, sd, strict=True)],
                                color=colour[method], alpha=0.2, linewidth=0)
            dense = [line[f"{dense_col}_mean"] for line in here
                     if line[f"{dense_col}_mean"] is not None]
            if y == "perplexity":
                ax.set_yscale("log")
                plain = FuncFormatter(lambda v, _: f"{v:.3g}")
                ax.yaxis.set_major_formatter(plain)
                ax.yaxis.set_minor_formatter(plain)
            if dense:
                level = 0.0 if y == "delta" else sum(dense) / len(dense) * scale
                ax.axhline(level, color="grey", linestyle="--", linewidth=1, label="dense")
            ax.set_xscale("log", base=2)
            if xname != "cost":  # ratios; the cost axis counts steps
                ratio_axis(ax)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{dataset} / {arch}: {Y_TITLES[y]} vs {X_TITLES[xname]}")
            ax.grid(True, which="major", alpha=0.3)
    handles: dict = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    labels = [m for m in methods if m in handles] + (["dense"] if "dense" in handles else [])
    band = Patch(facecolor="grey", alpha=0.2, label=BAND)
    fig.legend([*(handles[k] for k in labels), band], [*labels, BAND], loc="outside right upper",
               fontsize="small")
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Write the figure to PDF, PNG or SVG (by the file's suffix)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InvalidValueError(f"cannot write {path.name}: the file must end in "
                                f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
