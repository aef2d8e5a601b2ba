"""List the pruning methods in methods/: name, description, source hash, and broken files."""

from __future__ import annotations

import argparse

from bench.cli._output import print_json, print_table
from bench.methods import discover


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=None, help="folder of method files (default: ./methods)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    found = discover(args.dir)
    rows = [{"name": m.name, "description": m.description, "hash": m.source_hash,
             "status": "ok" if m.ok else "broken", "error": m.error, "path": str(m.path),
             "attributes": m.attributes} for m in found.values()]
    if args.json:
        print_json(rows)
        return 0
    print_table([{k: r[k] for k in ("name", "status", "hash", "description")} for r in rows])
    for r in rows:
        if r["error"]:
            print(f"\n{r['name']} is broken: {r['error'].strip().splitlines()[-1]}")
    return 0
