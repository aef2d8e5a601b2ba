"""prunebench: a pytest-style benchmark for neural-network pruning methods."""

import os
import sys


def _unshadow_stdlib() -> None:
    """Take the current folder off sys.path where it holds a file named like a standard-library
    module: `python -m bench` run from inside methods/ would otherwise import methods/random.py
    for `import random` (Python puts the current folder first for -m and -c)."""
    try:
        cwd = os.getcwd()
    except OSError:
        return
    entries = [e for e in sys.path if os.path.abspath(e or os.curdir) == cwd]
    if not entries:
        return
    try:
        local = {f[:-3] for f in os.listdir(cwd) if f.endswith(".py")}
    except OSError:
        return
    if local & set(getattr(sys, "stdlib_module_names", ())):
        for entry in entries:
            sys.path.remove(entry)


_unshadow_stdlib()

__all__ = ["PruneContext"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """`from bench import PruneContext` imports torch only when a method asks for it, so commands
    that only read results start without it."""
    if name == "PruneContext":
        from bench.context import PruneContext

        return PruneContext
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
