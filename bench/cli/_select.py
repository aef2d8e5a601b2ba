"""Arguments shared by the commands that read results: database path and row filters."""

from __future__ import annotations

import argparse

from bench.errors import InvalidValueError


def add_db(parser: argparse.ArgumentParser) -> None:
    """--db PATH."""
    parser.add_argument("--db", default="results.duckdb", metavar="PATH",
                        help="results database (default: results.duckdb)")


def add_filters(parser: argparse.ArgumentParser) -> None:
    """--run, --method, --dataset, --arch, --versions, --grid."""
    parser.add_argument("--run", default="all", metavar="ID|latest|all",
                        help="which runs: all (default; a case run again counts by its latest row), "
                             "latest, or a run id or its unique prefix")
    parser.add_argument("--method", action="append", metavar="M",
                        help="only these methods (repeat, or comma-separate)")
    parser.add_argument("--dataset", action="append", metavar="D", help="only these datasets")
    parser.add_argument("--arch", action="append", metavar="A", help="only these architectures")
    parser.add_argument("--versions", choices=["current", "all"], default="current",
                        help="current (default): each setting's latest version of the method, "
                             "pretrained weights, recipes and bench, the others counted and left "
                             "out; all: every version, each on its own line")
    parser.add_argument("--grid", action="append", metavar="NAME",
                        help="only the runs of these grids (pytest --bench-grid NAME), on any machine")


def filters(args: argparse.Namespace) -> dict:
    """The filter arguments as keyword arguments of bench.results.read.load_rows."""
    return {"run": args.run, "method": args.method, "dataset": args.dataset, "arch": args.arch,
            "grid": args.grid}


def selected_rows(args: argparse.Namespace) -> list[dict]:
    """The result rows of --db that the filter arguments select, of the versions --versions
    selects; `args.left_out` gets the number of rows of other versions left out and
    `args.runs_in_file` the number of runs the selection reads from."""
    from bench.analysis import versions
    from bench.results import read as report

    con = report.open_db(args.db)
    try:
        check_names(con, args)
        rows = report.load_rows(con, **filters(args))
        ids = report.run_ids(con, args.run)
        args.runs_in_file = (len(ids) if ids is not None else
                             con.execute("SELECT count(*) FROM runs").fetchone()[0])
    finally:
        con.close()
    rows, args.left_out = versions.select(rows, getattr(args, "versions", "current"))
    return rows


def check_names(con, args: argparse.Namespace) -> None:
    """Refuse a --method, --dataset or --arch that names nothing in the database (instead of an
    empty table), with the names it holds and the closest one."""
    from bench.results.read import split_names
    from bench.suggest import unknown

    for column in ("method", "dataset", "arch"):
        wanted = split_names(getattr(args, column))
        if not wanted:
            continue
        have = {r[0] for r in con.execute(
            f"SELECT DISTINCT {column} FROM results WHERE {column} IS NOT NULL").fetchall()}
        for name in wanted:
            if name not in have:
                raise InvalidValueError(f"{unknown(f'--{column}', name, have)} (in {args.db})")
