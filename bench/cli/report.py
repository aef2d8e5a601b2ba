"""Tables of results: mean and std over seeds per (dataset, arch, method, ratio), and more views.

Views (--view):
  summary     n (passed cases, i.e. seeds), failed, top-1 % (mean ± std) with its 95% t-interval
              (clipped to [0, 100]% and marked * where it would run past),
              its change from dense (points), dense top-1, compression (params total / nonzero),
              theoretical speedup (MACs total / nonzero) and measured speedup (dense / pruned
              latency). csv and json give raw numbers (accuracies as fractions).
  paired      method A minus method B on the same seeds and pretrained weights (--compare A B).
  ranks       rank of each method per condition (--by pretrain_seed or finetune_recipe), the rest
              held fixed, and Kendall's tau between conditions.
  first-drop  the first ratio at which each method falls more than one point below dense.
  winners     best method at a fixed compression and at a fixed theoretical speedup.
  checklist   the paper's reporting checklist per method.
  protocols   top-1 and training cost (steps) per protocol; each protocol minus one-shot and each
              sanity control minus its plain protocol, paired over seeds with 95% intervals; the
              at-init methods against each other within each protocol (--compare A B for others).
  realisation measured beside theoretical speedup per method and ratio: median and IQR over
              seeds at batch 1 and the largest batch, the realisation gap (measured /
              theoretical), backend, device, threads and dtype; a timing that failed its
              A/A or IQR check is left out, as in the summary, and counted (unstable b1,
              unstable batch); beside them, the kept
              models' later timings (python -m bench retime --save): median and range of
              the stable ones at the largest batch, over seeds and passes. Language
              models: prefill and decode tokens-per-second speedups beside MACs per token.
  winners-measured  best method at a fixed measured speedup, beside the best at the same
              theoretical speedup (structured and unstructured together; unstable timings
              left out); a row whose kept
              model was retimed (retime --save) counts with the median of those timings.
              Language models: lowest perplexity at a measured prefill speedup.
  all         every view above.
"""

from __future__ import annotations

import argparse
import csv
import sys

from bench.analysis import aggregate, lm_realisation, protocol_views, realisation, versions
from bench.analysis import views as analysis
from bench.cli._output import print_json
from bench.cli._select import add_db, add_filters, selected_rows
from bench.errors import InvalidValueError
from bench.suggest import did_you_mean

FORMATS = {"table": "simple", "markdown": "github"}
VIEWS = ("paired", "ranks", "first-drop", "winners", "checklist", "protocols", "realisation",
         "winners-measured")


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    add_filters(parser)
    parser.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table",
                        help="output format (default: table)")
    parser.add_argument("--view", choices=["summary", *VIEWS, "all"], action="append",
                        help="which table (repeatable; default: summary)")
    parser.add_argument("--compare", nargs=2, action="append", metavar=("A", "B"),
                        help="methods to pair in the paired view (repeatable; default: "
                             "magnitude_global vs magnitude_layer, and each method vs random)")
    parser.add_argument("--by", action="append", choices=analysis.CONDITIONS,
                        help="condition for the ranks view (default: those that vary)")


def _pm(mean: float | None, std: float | None, scale: float = 1.0, digits: int = 2) -> str:
    if mean is None:
        return ""
    text = f"{mean * scale:.{digits}f}"
    return text if std is None else f"{text} ± {std * scale:.{digits}f}"


def _interval(low: float | None, high: float | None, clipped: bool | None,
              scale: float = 1.0) -> str:
    if low is None or high is None:
        return ""
    return f"[{low * scale:.2f}, {high * scale:.2f}]" + ("*" if clipped else "")


def _failed(line: dict) -> str:
    later = f"+{line['failed_later']} after passing" if line.get("failed_later") else ""
    return " ".join(p for p in (str(line["failed"] or ""), later) if p)


def display(lines: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Aggregated lines as strings for reading: accuracies in %, mean ± std."""
    out = []
    for line in lines:
        shown = {k: (f"{line[k]:g}" if isinstance(line[k], float) else
                     versions.short(line[k]) if k == versions.VERSION else line[k]) for k in keys}
        shown |= {"n": line["n"], "failed": _failed(line),
                  "top-1 %": _pm(line["top1_mean"], line["top1_std"], 100),
                  "top-1 95% CI": _interval(line.get("top1_ci95_low"), line.get("top1_ci95_high"),
                                            line.get("top1_ci95_clipped"), 100),
                  "Δ top-1 pts": _pm(line["delta_top1_mean"], line["delta_top1_std"], 100),
                  "dense %": _pm(line["top1_dense_mean"], None, 100),
                  "compression": _pm(line["compression_mean"], line["compression_std"]),
                  "speedup theor.": _pm(line["speedup_theoretical_mean"],
                                        line["speedup_theoretical_std"]),
                  "speedup meas.": _pm(line["speedup_measured_mean"], line["speedup_measured_std"])}
        out.append(shown)
    return out


def display_lm(lines: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Aggregated language-model lines as strings: perplexity mean ± std with its interval."""
    out = []
    for line in lines:
        shown = {k: (f"{line[k]:g}" if isinstance(line[k], float) else line[k]) for k in keys}
        shown |= {"n": line["n"], "failed": _failed(line),
                  "perplexity": _pm(line["perplexity_mean"], line["perplexity_std"]),
                  "perplexity 95% CI": _interval(line.get("perplexity_ci95_low"),
                                                 line.get("perplexity_ci95_high"),
                                                 line.get("perplexity_ci95_clipped")),
                  "dense": _pm(line["perplexity_dense_mean"], None),
                  "kept of prunable": _pm(line["keep_fraction_achieved_mean"], None, digits=3),
                  "compression": _pm(line["compression_mean"], line["compression_std"]),
                  "speedup theor.": _pm(line["speedup_theoretical_mean"], None),
                  "prefill meas.": _pm(line["speedup_measured_prefill_mean"],
                                       line["speedup_measured_prefill_std"]),
                  "decode meas.": _pm(line["speedup_measured_decode_mean"],
                                      line["speedup_measured_decode_std"])}
        out.append(shown)
    return out


def _pairs(args: argparse.Namespace, rows: list[dict]) -> list[tuple[str, str]]:
    if args.compare:
        return [tuple(pair) for pair in args.compare]
    methods = sorted({r["method"] for r in rows if r.get("method")})
    pairs = [("magnitude_global", "magnitude_layer")] if {"magnitude_global",
                                                           "magnitude_layer"} <= set(methods) else []
    if "random" in methods:
        pairs += [(m, "random") for m in methods if m != "random"]
    return pairs


def views(args: argparse.Namespace, rows: list[dict]) -> dict[str, list[dict]]:
    """The tables of the views asked for, by title."""
    chosen = VIEWS if "all" in args.view else args.view
    out: dict[str, list[dict]] = {}
    if {"realisation", "winners-measured"} & set(chosen):  # later timings of kept models
        from bench.results.read import load_retimes

        retimes = load_retimes(args.db)
    for view in chosen:
        if view == "paired":
            vision = [r for r in rows if aggregate.task_of(r) == "classification"]
            lm = [r for r in rows if aggregate.task_of(r) == "lm"]
            for a, b in _pairs(args, vision) if vision else []:
                out[f"paired: {a} - {b} (top-1, fractions)"] = analysis.paired_table(vision, a, b)
            for a, b in _pairs(args, lm) if lm else []:
                out[f"paired: {a} - {b} (perplexity, lower is better)"] = analysis.paired_table(
                    lm, a, b, "perplexity")
        elif view == "ranks":
            present = [c for c in ("pretrain_seed", "finetune_recipe")
                       if len({r.get(c) for r in rows}) > 1]
            for by in args.by or present:
                ranks, taus = analysis.rank_table(rows, by)
                out[f"ranks by {by} (mean top-1 over ratios >= 2)"] = ranks
                out[f"rank agreement by {by}"] = taus
        elif view == "first-drop":
            out["first ratio more than 1 point below dense"] = analysis.first_drop_table(rows)
        elif view == "winners":
            vision = [r for r in rows if aggregate.task_of(r) == "classification"]
            if vision:
                out["best method at a fixed compression / theoretical speedup"] = (
                    analysis.winners_table(vision))
            if len(vision) < len(rows):
                out["language models: lowest perplexity at each ratio and pattern"] = (
                    analysis.lm_winners_table([r for r in rows if aggregate.task_of(r) == "lm"]))
        elif view == "checklist":
            out["reporting checklist"] = analysis.checklist_table(rows)
        elif view == "protocols":
            out["protocols: top-1 and training cost per protocol"] = protocol_views.cost_table(rows)
            out["protocols paired: A - B, top-1 (B: one-shot, or the plain protocol of a "
                "control)"] = protocol_views.protocol_pairs(rows)
            pairs = [tuple(p) for p in args.compare] if args.compare else protocol_views.METHOD_PAIRS
            out["methods within each protocol: A - B, top-1"] = protocol_views.method_pairs(rows,
                                                                                          pairs)
        elif view == "realisation":
            vision = [r for r in rows if aggregate.task_of(r) == "classification"]
            if vision or len(vision) == len(rows):
                out["measured vs theoretical speedup (median, IQR over seeds)"] = (
                    realisation.realisation_table(vision, retimes))
            if len(vision) < len(rows):
                out["language models: measured vs theoretical speedup, prefill and decode tokens "
                    "per second (median, IQR over seeds)"] = lm_realisation.lm_realisation_table(
                    rows, retimes)
        elif view == "winners-measured":
            if any(aggregate.task_of(r) == "lm" for r in rows):
                out["language models: lowest perplexity at a fixed measured prefill speedup, "
                    "beside the same theoretical speedup"] = (
                    lm_realisation.lm_measured_winners_table(rows))
            vision = [r for r in rows if aggregate.task_of(r) == "classification"]
            if not vision and len(vision) < len(rows):
                continue
            timed = realisation.with_retimed(vision, retimes)
            retimed = sum(r["speedup_source"] == "retimed" for r in timed)
            title = "best method at a fixed measured speedup" + (
                f" ({retimed} of {len(timed)} rows' measured speedup from their retimed kept "
                "models)" if retimed else "")
            out[title] = realisation.measured_winners_table(timed)
    return out


def print_views(tables: dict[str, list[dict]], fmt: str) -> None:
    """Each table under its title."""
    from tabulate import tabulate

    for title, table in tables.items():
        print(f"\n## {title}\n")
        if table:
            print(tabulate([list(r.values()) for r in table], headers=list(table[0]),
                           tablefmt=FORMATS.get(fmt, "simple"), floatfmt=".4g"))
        else:
            print("(nothing to compare in the selected rows)")


def check_compare(args: argparse.Namespace, rows: list[dict]) -> None:
    """Refuse --compare names that no selected row has, naming them and the methods there are."""
    known = sorted({r["method"] for r in rows if r.get("method")})
    asked = dict.fromkeys(name for pair in args.compare or () for name in pair)
    missing = [name for name in asked if name not in known]
    if missing:
        hints = "".join(did_you_mean(name, known) for name in missing)
        raise InvalidValueError(
            f"--compare: no selected rows of {', '.join(map(repr, missing))}{hints}; the methods "
            f"in the selected rows of {args.db}: {', '.join(known) or '(none)'}")


def run(args: argparse.Namespace) -> int:
    rows = selected_rows(args)
    check_compare(args, rows)
    args.view = args.view or ["summary"]
    if args.view == ["summary"]:
        return print_summary(args, rows)
    tables = views(args, rows)
    if args.format == "json":
        print_json(tables)
        return 0
    if "all" in args.view or "summary" in args.view:
        print_summary(args, rows)
    print_views(tables, args.format)
    return 0


def print_summary(args: argparse.Namespace, rows: list[dict]) -> int:
    """The summary view."""
    def keys_of(part: list[dict]) -> tuple[str, ...]:
        keys = aggregate.report_keys(part)
        return (*keys[:-1], versions.VERSION, keys[-1]) if args.versions == "all" else keys

    keys = keys_of(rows)
    lines = aggregate.aggregate(rows, keys, stats=aggregate.STATS | {"ci95": aggregate.ci95})
    if args.format == "json":
        print_json({"summary": aggregate.summary(rows) | {"runs_in_file": args.runs_in_file,
                                                          "left_out_versions": args.left_out},
                    "keys": list(keys), "rows": lines})
        return 0
    if args.format == "csv":
        if lines:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(lines[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(lines)
        return 0
    from tabulate import tabulate

    info = aggregate.summary(rows)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(info["statuses"].items()))
    unfinished = f", {len(info['unfinished_runs'])} of them unfinished" if info["unfinished_runs"] else ""
    if info["failed_later"]:
        statuses += f"; {info['failed_later']} passed case(s) failed when run again later"
    print(f"{args.db}: {info['cases']} cases ({statuses or 'none'}) from {len(info['runs'])} run(s)"
          f"{unfinished} of the {args.runs_in_file} run(s) read; the latest passed row of each "
          "case counts once")
    if args.left_out:
        print(f"left out: {args.left_out} case(s) of other versions of a method, its pretrained "
              "weights, recipes or the bench (--versions all shows each version on its own line)")
    print()
    if not lines:
        print("(no rows match)")
        return 0
    vision = [r for r in rows if aggregate.task_of(r) == "classification"]
    lm = [r for r in rows if aggregate.task_of(r) == "lm"]
    if vision:
        vision_keys = keys_of(vision)
        shown = display(aggregate.aggregate(vision, vision_keys,
                                            stats=aggregate.STATS | {"ci95": aggregate.ci95}),
                        vision_keys)
        print(tabulate([list(r.values()) for r in shown], headers=list(shown[0]),
                       tablefmt=FORMATS[args.format], disable_numparse=True))
    if lm:
        lm_keys = keys_of(lm)
        lm_lines = aggregate.aggregate(lm, lm_keys, aggregate.LM_METRICS,
                                       stats=aggregate.STATS | {"ci95": aggregate.ci95})
        shown = display_lm(lm_lines, lm_keys)
        print(("\n" if vision else "") + "language models: perplexity (lower is better) over the "
              "test windows; ratio and kept fraction over the prunable weights (block linears), "
              "a channel case's ratio over the whole model in its target unit\n")
        print(tabulate([list(r.values()) for r in shown], headers=list(shown[0]),
                       tablefmt=FORMATS[args.format], disable_numparse=True))
    if any(line.get("top1_ci95_clipped") for line in lines):
        print("\n* t-interval clipped to [0, 100]%: with so few seeds it runs past what an "
              "accuracy can be")
    if info["latency_unstable"]:
        why = ", ".join(f"{n} x {k}" for k, n in sorted(info["latency_unstable"].items()))
        print(f"\nnote: {sum(info['latency_unstable'].values())} measured speedups failed the A/A "
              f"check (the dense model timed against itself) and are left out of speedup meas. "
              f"({why}); see latency_unstable_reason")
    if info["latency_under_load"]:
        print(f"\nnote: {info['latency_under_load']} measured latencies were taken with other xdist "
              "workers running; their speedups are not comparable with a serial run's")
    return 0
