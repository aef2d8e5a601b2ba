"""Plot accuracy against compression and theoretical speedup (PNG or SVG), as in the paper.

One panel per (dataset, arch) and x axis, one line per method with a band of one std over
seeds, a log2 x axis and a dashed line at the dense model's accuracy.
"""

from __future__ import annotations

import argparse

from bench.cli._select import add_db, add_filters, selected_rows


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    add_filters(parser)
    parser.add_argument("-o", "--output", default="results.png", metavar="FILE",
                        help="output file, .png or .svg (default: results.png)")
    parser.add_argument("--x", choices=["compression", "speedup", "measured", "both", "speed", "all"],
                        default="all",
                        help="x axis: compression ratio, theoretical speedup, measured speedup "
                             "(largest batch); both (compression and theoretical), speed "
                             "(theoretical beside measured), all (default; measured only where "
                             "latency was taken)")
    parser.add_argument("--y", choices=["top1", "delta"], default="top1",
                        help="y axis: top-1 accuracy, or its change from the dense model")


def run(args: argparse.Namespace) -> int:
    from bench.analysis import plot  # matplotlib only when plotting

    rows = selected_rows(args)
    fig = plot.figure(rows, x=args.x, y=args.y)
    panels = len(fig.axes)
    path = plot.save(fig, args.output)
    print(f"wrote {path} ({panels} panels, {len({r['method'] for r in rows})} methods)")
    return 0
