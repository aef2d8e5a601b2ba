"""Output helpers shared by commands: JSON and tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from tabulate import tabulate


def print_json(payload: object) -> None:
    """Pretty JSON on stdout."""
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def print_table(rows: Sequence[dict], fmt: str = "simple", floatfmt: str = ".4g") -> None:
    """A table of dict rows (keys of the first row are the columns) on stdout."""
    if not rows:
        print("(no rows)")
        return
    print(tabulate([list(r.values()) for r in rows], headers=list(rows[0]), tablefmt=fmt,
                   floatfmt=floatfmt, intfmt=","))


def print_rows(rows: Sequence[dict], as_json: bool) -> bool:
    """`rows` as JSON or as a table; True when it was JSON (then nothing else should follow)."""
    if as_json:
        print_json(rows)
    else:
        print_table(rows)
    return as_json
