"""Tables of results: mean and std over seeds per (dataset, arch, method, ratio).

Columns: n (passed cases, i.e. seeds), failed (failed or errored cases), top-1 accuracy (%),
its change from the dense model (points), the dense top-1, compression (params total / nonzero),
theoretical speedup (MACs total / nonzero) and measured speedup (dense / pruned latency).
Mean ± std over seeds (sample std; blank with one seed). csv and json give raw numbers
(accuracies as fractions) with one column per statistic.
"""

from __future__ import annotations

import argparse
import csv
import sys

from bench import report
from bench.cli._output import print_json
from bench.cli._select import add_db, add_filters, filters

FORMATS = {"table": "simple", "markdown": "github"}


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    add_filters(parser)
    parser.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table",
                        help="output format (default: table)")


def _pm(mean: float | None, std: float | None, scale: float = 1.0, digits: int = 2) -> str:
    if mean is None:
        return ""
    text = f"{mean * scale:.{digits}f}"
    return text if std is None else f"{text} ± {std * scale:.{digits}f}"


def display(lines: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Aggregated lines as strings for reading: accuracies in %, mean ± std."""
    out = []
    for line in lines:
        shown = {k: (f"{line[k]:g}" if isinstance(line[k], float) else line[k]) for k in keys}
        shown |= {"n": line["n"], "failed": line["failed"] or "",
                  "top-1 %": _pm(line["top1_mean"], line["top1_std"], 100),
                  "Δ top-1 pts": _pm(line["delta_top1_mean"], line["delta_top1_std"], 100),
                  "dense %": _pm(line["top1_dense_mean"], None, 100),
                  "compression": _pm(line["compression_mean"], line["compression_std"]),
                  "speedup theor.": _pm(line["speedup_theoretical_mean"],
                                        line["speedup_theoretical_std"]),
                  "speedup meas.": _pm(line["speedup_measured_mean"], line["speedup_measured_std"])}
        out.append(shown)
    return out


def run(args: argparse.Namespace) -> int:
    con = report.open_db(args.db)
    try:
        rows = report.load_rows(con, **filters(args))
    finally:
        con.close()
    keys = report.report_keys(rows)
    lines = report.aggregate(rows, keys)
    if args.format == "json":
        print_json({"summary": report.summary(rows), "keys": list(keys), "rows": lines})
        return 0
    if args.format == "csv":
        if lines:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(lines[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(lines)
        return 0
    from tabulate import tabulate

    info = report.summary(rows)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(info["statuses"].items()))
    unfinished = f", {len(info['unfinished_runs'])} of them unfinished" if info["unfinished_runs"] else ""
    print(f"{args.db}: {info['cases']} cases ({statuses or 'none'}) from {len(info['runs'])} run(s)"
          f"{unfinished}\n")
    if not lines:
        print("(no rows match)")
        return 0
    shown = display(lines, keys)
    print(tabulate([list(r.values()) for r in shown], headers=list(shown[0]),
                   tablefmt=FORMATS[args.format], disable_numparse=True))
    if info["latency_under_load"]:
        print(f"\nnote: {info['latency_under_load']} measured latencies were taken with other xdist "
              "workers running; their speedups are not comparable with a serial run's")
    return 0
