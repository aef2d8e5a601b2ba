"""Plot accuracy against compression and theoretical speedup (PDF, SVG or PNG), as in the paper.

One panel per (dataset, arch) and x axis, titled with it; one line per method with a band of one
std over seeds (named in the legend), a colour per method, global and layer-wise variants told
apart by line style and marker as well; a log x axis labelled 1x, 1.5x, 2x, a dashed line at the
dense model's accuracy, the legend outside the panels.
"""

from __future__ import annotations

import argparse

from bench.cli._select import add_db, add_filters, selected_rows


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    add_filters(parser)
    parser.add_argument("-o", "--output", default="results.png", metavar="FILE",
                        help="output file, .pdf, .svg or .png (default: results.png)")
    parser.add_argument("--x", choices=["compression", "speedup", "measured", "cost", "prunable",
                                        "both", "speed", "all", "lm"],
                        default=None,
                        help="x axis: compression ratio, theoretical speedup, measured speedup "
                             "(largest batch, stable rows only; the median of a kept model's "
                             "later timings where retime --save stored some), training cost in steps "
                             "(pretraining included, to compare protocols at equal cost); both "
                             "(compression and theoretical), speed (theoretical beside measured), "
                             "all (default; measured only where latency was taken); for "
                             "language models, prunable (ratio over the block linears) and lm "
                             "(prunable beside speedup; their default)")
    parser.add_argument("--y", choices=["top1", "delta", "perplexity"], default=None,
                        help="y axis: top-1 accuracy, or its change from the dense model; "
                             "perplexity for language models (their default, log scale)")


def run(args: argparse.Namespace) -> int:
    from bench.analysis import plot  # matplotlib only when plotting
    from bench.analysis.realisation import with_retimed
    from bench.results.read import load_retimes

    rows = with_retimed(selected_rows(args), load_retimes(args.db))  # kept models timed again
    lm = bool(rows) and all(r.get("task") == "lm" for r in rows)
    y = args.y or ("perplexity" if lm else "top1")
    x = args.x or ("lm" if y == "perplexity" else "all")
    if y == "perplexity":  # one task per figure: its own metric
        rows = [r for r in rows if r.get("task") == "lm"]
    elif any(r.get("task") == "lm" for r in rows):
        rows = [r for r in rows if r.get("task") != "lm"]
        print("language-model rows left out of this figure; plot them with --y perplexity")
    fig = plot.figure(rows, x=x, y=y)
    panels = len(fig.axes)
    path = plot.save(fig, args.output)
    left = f"; {args.left_out} cases of other versions left out" if args.left_out else ""
    print(f"wrote {path} ({panels} panels, {len({r['method'] for r in rows})} methods{left})")
    return 0
