"""Export a table or the case_results view of the results database to Parquet or CSV."""

from __future__ import annotations

import argparse

from bench.cli._select import add_db
from bench.results.export import EXPORTABLE, VIEW, export


def configure(parser: argparse.ArgumentParser) -> None:
    add_db(parser)
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="output file ending in .parquet or .csv")
    parser.add_argument("--table", default=VIEW, choices=EXPORTABLE,
                        help=f"table to export (default: {VIEW}, each case once as the report "
                             "counts it; results: every row, re-runs included)")
    parser.add_argument("--run", default="all", metavar="ID|latest|all",
                        help="only the rows of these runs (default: all)")
    parser.add_argument("--grid", action="append", metavar="NAME",
                        help="only the rows of the runs of these grids (pytest --bench-grid NAME)")


def run(args: argparse.Namespace) -> int:
    n = export(args.db, args.output, args.table, args.run, args.grid)
    print(f"wrote {n} rows of {args.table} to {args.output}")
    return 0
