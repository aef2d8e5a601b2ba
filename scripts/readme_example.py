"""Regenerate the README's worked example: run `pytest suites/ -k magnitude` into a fresh
database, then the report, and print the example (or put it into README.md with --write), with the
cores, thread count and load it was taken at.

    python scripts/readme_example.py            # print the block
    python scripts/readme_example.py --write    # replace the block between the markers in README.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN = "<!-- readme-example: begin (python scripts/readme_example.py --write makes this block) -->"
END = "<!-- readme-example: end -->"
METHODS = "magnitude_global,magnitude_layer"


def _run(*cmd: str) -> str:
    proc = subprocess.run([sys.executable, *cmd], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc.stdout


def _pytest_lines(out: str) -> list[str]:
    """The progress, the bench's summary and pytest's last line (no platform header, and without
    the progress lines the bench adds every 30 s when its output is not a terminal)."""
    out = re.sub(r"\nbench: \d+/\d+ cases[^\n]*\n", "", out)
    keep = [line for line in out.splitlines()
            if line.startswith(("suites/", "- bench:")) or re.match(r"=+ \d+ passed", line)]
    return keep


def _lenet5_pretraining() -> str:
    """How long pretraining the default LeNet-5 took, from the zoo's record."""
    key = _default_recipe_key()
    for entry in json.loads(_run("-m", "bench", "zoo", "--json")):
        if (entry["dataset"], entry["arch"], entry.get("step"), entry.get("recipe_key")) == (
                "mnist5k", "lenet5", None, key):
            return f"{entry['train_s']:.0f} s with {entry['threads']} thread"
    return "a few seconds"


def _default_recipe_key() -> str:
    out = _run("-c", "from bench import data; from bench.training import recipes; "
                     "print(recipes.get(data.get('mnist5k').pretrain_recipe_for('lenet5')).key)")
    return out.strip()


def block(db: Path) -> str:
    """The example's paragraph and its commands with their output."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    suite = _run("-m", "pytest", "suites/", "-k", "magnitude", "--bench-db", str(db))
    seconds = time.perf_counter() - start
    report = _run("-m", "bench", "report", "--db", str(db), "--method", METHODS)
    threads = _run("-c", "from bench.harness import threads; print(threads.per_process(None, 1))")
    cores = os.cpu_count()
    paragraph = (
        "`pytest suites/ -k magnitude` runs both magnitude methods (global and layer-wise) on "
        "MNIST-5k with LeNet-5, at ratios 1, 2, 4, 8, 16 and 32 and seeds 0, 1 and 2: 36 cases. "
        f"The first run pretrains LeNet-5 once ({_lenet5_pretraining()} here); later runs reuse "
        f"it. Taken on {cores} CPU cores with the default {threads.strip()} thread per process, "
        f"at a load average of {load:.1f} when it started; the run took {seconds:.0f} s (each "
        "case: prune, finetune 2 epochs, evaluate, count, and time the dense and the pruned "
        "model). Regenerate with `python scripts/readme_example.py --write`:")
    lines = [
        *textwrap.wrap(paragraph, width=99, break_on_hyphens=False),
        "",
        "    $ pytest suites/ -k magnitude --bench-db /tmp/mj.duckdb     # default: ./results.duckdb",
        *(f"    {line}".rstrip() for line in _pytest_lines(suite)),
        "",
        f"    $ python -m bench report --db /tmp/mj.duckdb --method {METHODS}",
        *(f"    {line}".rstrip() for line in report.rstrip().splitlines()),
    ]
    return "\n".join(lines).replace(str(db), "/tmp/mj.duckdb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the block in README.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text = block(Path(tmp) / "mj.duckdb")
    if not args.write:
        print(text)
        return 0
    readme = REPO / "README.md"
    old = readme.read_text()
    if BEGIN not in old or END not in old:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
    head, rest = old.split(BEGIN, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{rest.split(END, 1)[1]}")
    print(f"wrote the example into {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
