"""The command line, `python -m bench <command>`: one module per command in this package.

A command module defines `configure(parser)` to add its arguments and `run(args) -> int`;
its docstring's first line is the command's help. Modules starting with `_` are helpers.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path

import bench
from bench.errors import BenchError


def command_names() -> list[str]:
    """Every command of this package (its modules not starting with `_`), without importing them."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def command_modules() -> dict:
    """Every command module of this package, by command name (imports them all)."""
    return {name: importlib.import_module(f"{__name__}.{name}") for name in command_names()}


def _summary(name: str) -> str:
    """A command's help line: the first line of its module docstring, read without importing it."""
    spec = importlib.util.find_spec(f"{__name__}.{name}")
    source = Path(spec.origin).read_text() if spec and spec.origin else ""
    try:
        doc = ast.get_docstring(ast.parse(source)) or name
    except SyntaxError:
        doc = name
    return doc.strip().splitlines()[0]


def program() -> str:
    """How the user started the command line: `prunebench` (the console script) or `python -m bench`."""
    return "prunebench" if Path(sys.argv[0]).stem == "prunebench" else "python -m bench"


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with one sub-command per command module. Given `argv`, only the command
    it names is imported and configured (none for `--help` or `--version`), so a command starts
    without importing what the others need (torch); without `argv`, every command is."""
    parser = argparse.ArgumentParser(prog=program(),
                                     description="Pruning benchmark: registries, results, reports.")
    parser.add_argument("--version", action="version", version=f"prunebench {bench.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names = command_names()
    chosen = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    for name in names:
        if chosen is not None and name != chosen:
            sub.add_parser(name, help=_summary(name))
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        doc = (module.__doc__ or name).strip()
        command = sub.add_parser(name, help=doc.splitlines()[0], description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; a user's error prints one line and exits 2,
    anything else is a bug and keeps its traceback."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
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
