"""Time the kept models of a results database again, serially, against their dense models.

Measured speedups taken beside other workers (-n N) drift; kept models can be timed again on a
quiet machine, or on another device, and those are the figures to cite:

    pytest suites/ --bench-suite structured -n 2 --bench-save-models models/
    python -m bench retime --method channel_l1 --arch resnet20

The rows' own figures are printed beside the new ones. With --save every timing is also stored,
as it is taken, in the database's `retimes` table (`report --view realisation` shows them beside
the run's figures); without it the database is not changed. With --repeat N every model is timed
N times, in N passes over all of them (so that a drift of the machine's speed reaches every case
alike), each pass in a fresh process (speedups differ more between processes than within one):
the median and the range of the N speedups show how far the figure moves, and a range wider than
the latency's stability limit marks the figure unstable.

A kept model file that cannot be timed (gone, truncated or corrupt, of a newer format, or holding
other weights than its row describes) is named with its cause, and the others are timed; the exit
status is then 1 (2 when none can be).
"""

from __future__ import annotations

import argparse
import sys

from bench.cli._output import print_rows
from bench.cli._select import add_db, add_filters, selected_rows
from bench.errors import InvalidValueError
from bench.settings import add_options


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    add_filters(parser)
    add_options(parser.add_argument, "--bench-cache")
    parser.add_argument("--device", default="cpu", help="torch device to time on (default: cpu)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="time every model N times, in N passes, each in a fresh process "
                        "(default: 1)")
    parser.add_argument("--save", action="store_true",
                        help="store every timing in the database's retimes table as it is taken")
    parser.add_argument("--json", action="store_true", help="print JSON (every latency column)")


def run(args: argparse.Namespace) -> int:
    import torch

    from bench.harness.env import BenchEnv
    from bench.harness.retime import dense_model, kept_file_problem, retime
    from bench.harness.retime_fresh import one_pass, unstable_across
    from bench.training.zoo import Zoo

    rows = [r for r in selected_rows(args) if r.get("status") == "passed"]
    kept = [r for r in rows if r.get("model_path")]
    left = len(rows) - len(kept)  # passed rows without a kept model
    if not kept:
        raise InvalidValueError(f"none of the {len(rows)} passed rows selected in {args.db} has a "
                                "kept model; run the suite with --bench-save-models DIR")
    if args.repeat < 1:
        raise InvalidValueError(f"--repeat must be at least 1, not {args.repeat}")
    torch.set_num_threads(1)  # latency is timed with 1 thread; nothing else runs beside it
    env = BenchEnv(zoo=Zoo(args.bench_cache, device=args.device), device=args.device)
    kept.sort(key=lambda r: r["case_id"])
    problems = {id(r): kept_file_problem(r) for r in kept}  # before any timing, not after an hour
    bad = [problems[id(r)] for r in kept if problems[id(r)]]
    for reason in bad:
        print(f"not timed: {reason}", file=sys.stderr)
    kept = [r for r in kept if not problems[id(r)]]
    if not kept:
        raise InvalidValueError(f"none of the {len(bad)} kept models can be timed (each is named "
                                "above with its cause)")
    for row in kept:  # the dense models: a cache without them fails every row alike
        dense_model(row, env)
    save = _saver(args) if args.save else None
    passes = []
    for n in range(args.repeat):
        if args.repeat > 1:  # a fresh process per pass: the spread between processes shows
            passes.append(one_pass(kept, args.bench_cache, args.device))
        else:
            passes.append([retime(row, env) for row in kept])
        if save:
            for row, timing in zip(kept, passes[-1], strict=True):
                save(row, n, timing)
    out = []
    for row, timings in zip(kept, zip(*passes, strict=True), strict=True):
        line = {"case": row["case_id"], "theor.": row["speedup_theoretical"],
                "run b1": row.get("speedup_measured"),
                "run batch": row.get("speedup_measured_batch"),
                "now b1": _median_of(t.get("speedup_measured") for t in timings),
                "now batch": _median_of(t.get("speedup_measured_batch") for t in timings)}
        if args.repeat > 1:
            batch = [t.get("speedup_measured_batch") for t in timings]
            line["now batch range"] = (f"{min(batch):.3g}-{max(batch):.3g}"
                                       if None not in batch else None)
        moved = unstable_across([t.get("speedup_measured_batch") for t in timings])
        line |= {"batch": timings[0].get("latency_batch_size"),
                 "gap batch": _median_of(t.get("realisation_gap_batch") for t in timings),
                 "stable": f"no: {moved}" if moved else
                           f"{sum(t['latency_stable'] and t['latency_batch_stable'] for t in timings)}"
                           f"/{len(timings)}",
                 "run under load": row.get("latency_parallel")}
        out.append(line | ({"latency": list(timings)} if args.json else {}))
    if not print_rows(out, args.json):
        print(f"\n{len(kept)} kept models timed again on {args.device}"
              + (f"; {len(bad)} could not be (named above)" if bad else "")
              + (f"; {left} passed rows have none" if left else "")
              + (f"; every timing stored in {args.db} (retime {save.retime_id})" if save else ""))
    return 1 if bad else 0


def _saver(args: argparse.Namespace):
    """A function that stores one timing of a row in the `retimes` table (its `retime_id`: this
    session's id); the database is opened for each write, as a suite does."""
    import datetime as dt
    import socket

    import torch

    from bench.results import provenance
    from bench.results.schema import RETIME_COLUMNS
    from bench.results.store import Store

    store = Store(args.db, hold=False)
    session = {"retime_id": provenance.new_id(), "host": socket.gethostname(),
               "cpu": provenance.cpu_name(), "device": args.device, "torch": torch.__version__}

    def save(row: dict, n: int, timing: dict) -> None:
        store.write_retime(session | {k: v for k, v in timing.items() if k in RETIME_COLUMNS} | {
            "run_id": row["run_id"], "nodeid": row["nodeid"], "pass": n,
            "case_key": row.get("case_key"), "model_sha256": row.get("model_sha256"),
            "timed_at": dt.datetime.now()})

    save.retime_id = session["retime_id"]
    return save


def _median_of(values) -> float | None:
    """Median of the finite values given (None if there are none)."""
    from bench.analysis.realisation import median_iqr

    return median_iqr(values)[0]
