"""Time the kept models of a results database again, serially, against their dense models.

Measured speedups taken beside other workers (-n N) drift; kept models can be timed again on a
quiet machine, or on another device, and those are the figures to cite:

    pytest suites/ --bench-suite structured -n 2 --bench-save-models models/
    python -m bench retime --method channel_l1 --arch resnet20

The rows' own figures are printed beside the new ones; the database is not changed.
"""

from __future__ import annotations

import argparse

from bench.cli._output import print_json, print_table
from bench.cli._select import add_db, add_filters, selected_rows
from bench.errors import InvalidValueError
from bench.settings import add_options


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    add_filters(parser)
    add_options(parser.add_argument, "--bench-cache")
    parser.add_argument("--device", default="cpu", help="torch device to time on (default: cpu)")
    parser.add_argument("--json", action="store_true", help="print JSON (every latency column)")


def run(args: argparse.Namespace) -> int:
    import torch

    from bench.harness.retime import retime
    from bench.training.cache import WeightsCache

    rows = [r for r in selected_rows(args) if r.get("status") == "passed"]
    kept = [r for r in rows if r.get("model_path")]
    if not kept:
        raise InvalidValueError(f"none of the {len(rows)} passed rows selected in {args.db} has a "
                                "kept model; run the suite with --bench-save-models DIR")
    torch.set_num_threads(1)  # latency is timed with 1 thread; nothing else runs beside it
    cache = WeightsCache(args.bench_cache)
    out = []
    for row in sorted(kept, key=lambda r: r["case_id"]):
        new = retime(row, cache, args.device)
        out.append({"case": row["case_id"], "theor.": row["speedup_theoretical"],
                    "run b1": row.get("speedup_measured"),
                    "run batch": row.get("speedup_measured_batch"),
                    "now b1": new.get("speedup_measured"),
                    "now batch": new.get("speedup_measured_batch"),
                    "batch": new["latency_batch_size"], "gap batch": new.get("realisation_gap_batch"),
                    "A/A batch": new.get("latency_aa_batch"),
                    "stable": new["latency_stable"] and new["latency_batch_stable"],
                    "run under load": row.get("latency_parallel")}
                   | ({"latency": new} if args.json else {}))
    if args.json:
        print_json(out)
    else:
        print_table(out)
        left = len(rows) - len(kept)
        print(f"\n{len(kept)} kept models timed again on {args.device}"
              + (f"; {left} passed rows have none" if left else ""))
    return 0
