"""Readable ticks for a ratio on a log axis (1x, 1.5x, 2x, 4x), however narrow its range."""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

# mantissas in [1, 2) of the tick ladders, coarsest first: each octave 2^k times these
LADDERS = ((1,), (1, 1.5), (1, 1.25, 1.5, 1.75))
LEAST = 3  # ticks in view that a ladder must give to be used
MOST = 10  # a wide range keeps every other tick of the powers of 2 until it has at most this many


def ratio_ticks(low: float, high: float) -> list[float]:
    """Tick values within [low, high] (both > 0): the coarsest ladder that gives at least
    LEAST of them, else evenly spaced values (a range narrower than a quarter octave)."""
    if not 0 < low < high:
        return []
    for mantissas in LADDERS:
        octaves = range(math.floor(math.log2(low)), math.ceil(math.log2(high)) + 1)
        ticks = [m * 2.0 ** k for k in octaves for m in mantissas if low <= m * 2.0 ** k <= high]
        while len(ticks) > MOST:
            ticks = ticks[::2]
        if len(ticks) >= LEAST:
            return ticks
    return [t for t in MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
            if low <= t <= high]


def label(value: float, _position: object = None) -> str:
    """A ratio as a reader says it: 1x, 1.5x, 0.75x, 12x."""
    return f"{value:.3g}x"


def ratio_axis(ax: Axes) -> None:
    """Put readable ratio ticks (no minor ones) on `ax`'s x axis, for the range it shows now."""
    low, high = ax.get_xlim()
    ax.set_xticks(ratio_ticks(low, high))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.set_xlim(low, high)
