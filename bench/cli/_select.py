"""Arguments shared by the commands that read results: database path and row filters."""

from __future__ import annotations

import argparse


def add_db(parser: argparse.ArgumentParser) -> None:
    """--db PATH."""
    parser.add_argument("--db", default="results.duckdb", metavar="PATH",
                        help="results database (default: results.duckdb)")


def add_filters(parser: argparse.ArgumentParser) -> None:
    """--run, --method, --dataset, --arch, --grid."""
    parser.add_argument("--run", default="all", metavar="ID|latest|all",
                        help="which runs: all (default; a case run again counts by its latest row), "
                             "latest, or a run id or its unique prefix")
    parser.add_argument("--method", action="append", metavar="M",
                        help="only these methods (repeat, or comma-separate)")
    parser.add_argument("--dataset", action="append", metavar="D", help="only these datasets")
    parser.add_argument("--arch", action="append", metavar="A", help="only these architectures")
    parser.add_argument("--grid", action="append", metavar="NAME",
                        help="only the runs of these grids (pytest --bench-grid NAME), on any machine")


def filters(args: argparse.Namespace) -> dict:
    """The filter arguments as keyword arguments of bench.results.read.load_rows."""
    return {"run": args.run, "method": args.method, "dataset": args.dataset, "arch": args.arch,
            "grid": args.grid}


def selected_rows(args: argparse.Namespace) -> list[dict]:
    """The result rows of --db that the filter arguments select."""
    from bench.results import read as report

    con = report.open_db(args.db)
    try:
        return report.load_rows(con, **filters(args))
    finally:
        con.close()
