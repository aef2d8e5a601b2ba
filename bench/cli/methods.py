"""List the pruning methods in methods/: name, description, source hash, and broken files.

The files are read without being imported (fast, no torch): a file that does not parse, lacks
prune(model, compression, ctx) or declares an unknown KIND shows as broken, any other as "not
imported" (an error raised on import is not known yet). --check imports each file as the suites do
and says ok, or broken with the error raised on import.
"""

from __future__ import annotations

import argparse

from bench.cli._output import print_json, print_table
from bench.errors import MissingFileError
from bench.methods import methods_dir

NOT_IMPORTED = "not imported"  # read without --check: an error on import would not show yet


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=None, help="folder of method files (default: ./methods)")
    parser.add_argument("--check", action="store_true",
                        help="import each file (slower: loads torch) to find errors on import too")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    folder = methods_dir(args.dir)
    if not folder.is_dir():
        raise MissingFileError(f"no methods folder at {folder}; run from the folder that holds "
                               "methods/, or pass --dir DIR (or set $BENCH_METHODS)")
    check = getattr(args, "check", False)
    if check:
        from bench.methods import discover

        found = discover(folder)
    else:
        from bench.method_files import read_all

        found = read_all(folder)
    rows = [{"name": m.name, "description": m.description, "hash": m.source_hash,
             "status": "broken" if m.error else "ok" if check else NOT_IMPORTED, "error": m.error,
             "path": str(m.path), "attributes": m.attributes, "imported": check}
            for m in found.values()]
    if args.json:
        print_json(rows)
        return 0
    print_table([{k: r[k] if r[k] != NOT_IMPORTED else f"{NOT_IMPORTED}; --check imports it"
                  for k in ("name", "status", "hash", "description")} for r in rows])
    for r in rows:
        if r["error"]:
            print(f"\n{r['name']} is broken: {r['error'].strip().splitlines()[-1]}")
    return 0
