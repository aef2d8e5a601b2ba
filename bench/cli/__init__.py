"""The command line, `python -m bench <command>`: one module per command in this package.

A command module defines `configure(parser)` to add its arguments and `run(args) -> int`;
its docstring's first line is the command's help. Modules starting with `_` are helpers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

import bench
from bench.errors import BenchError


def command_modules() -> dict:
    """Every command module of this package, by command name."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per command module."""
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Pruning benchmark: registries, results, reports.")
    parser.add_argument("--version", action="version", version=f"prunebench {bench.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in sorted(command_modules().items()):
        doc = (module.__doc__ or name).strip()
        command = sub.add_parser(name, help=doc.splitlines()[0], description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; a user's error prints one line and exits 2,
    anything else is a bug and keeps its traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (silences the flush at exit)
        return 0
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__module__.lstrip("_").split(".")[0] != "duckdb":
            raise
        # a database fault the checks on opening did not foresee: still one line
        cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"error: results database: {cause} (--db {getattr(args, 'db', '?')})", file=sys.stderr)
        return 2
