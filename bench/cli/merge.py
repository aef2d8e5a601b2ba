"""Merge results databases (e.g. from several machines) into one; each run is kept once.

Runs are identified by their run id, so merging the same database again adds nothing.
The output is created if missing, and added to if it exists.
"""

from __future__ import annotations

import argparse

from bench.cli._output import print_json, print_table
from bench.results.merge import merge


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="DB", help="databases to merge")
    parser.add_argument("-o", "--output", required=True, metavar="DB", help="merged database")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    added = merge(args.sources, args.output)
    rows = [{"source": source} | counts for source, counts in added.items()]
    if args.json:
        print_json(rows)
        return 0
    print(f"rows added to {args.output}:")
    print_table(rows)
    return 0
