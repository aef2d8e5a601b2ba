"""Exercise every CUDA path of the bench on one GPU and print one table (about 5 minutes).

    python scripts/device_check.py [--out DIR]

Checks, each a row of the table with its seconds and what it found:
  suite -n 2     a small vision grid with --bench-device cuda -n 2 --bench-share-gpu (both workers
                 on the one GPU), models kept; every row passed, on cuda
  2:4 kernels    the N:M suite cases, whose rows time 2:4 layers with torch's semi-structured
                 sparse kernels (capability 8.0 or more): speedup_semistructured
  retime         python -m bench retime --device cuda on the kept models
  lm             the smallest language-model case (tiny GPT, Wanda at 2:4) on cuda
On a machine without CUDA it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], timeout: int = 600) -> tuple[int, str, float]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - start


def _rows(db: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the databases and kept models")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("device check: no CUDA device here; nothing to check (run it on a GPU machine)")
        return 0
    out = Path(args.out or tempfile.mkdtemp(prefix="device-check-"))
    out.mkdir(parents=True, exist_ok=True)
    db, kept, cache = out / "cuda.duckdb", out / "kept", out / "cache"
    name = torch.cuda.get_device_name(0)
    capability = ".".join(map(str, torch.cuda.get_device_capability(0)))
    pytest = [sys.executable, "-m", "pytest", "suites/", "-p", "no:cacheprovider", "-q",
              "--bench-db", str(db), "--bench-cache", str(cache), "--bench-device", "cuda"]
    table = []

    code, text, seconds = _run([*pytest, "-n", "2", "--bench-share-gpu", "--bench-save-models",
                                str(kept), "--bench-suite", "structured", "-k",
                                "lenet5 and s0 and (magnitude_global or channel_l1 or nm_magnitude)"
                                " and not nm_magnitude_4_8"])
    found = _rows(db, "SELECT count(*), count(*) FILTER (status = 'passed'), "
                      "count(DISTINCT device) FILTER (device LIKE 'cuda%') FROM results") \
        if db.exists() else [(0, 0, 0)]
    total, passed, devices = found[0]
    table.append(("suite -n 2 --bench-share-gpu", code == 0 and passed == total > 0, seconds,
                  f"{passed}/{total} passed on {devices} cuda device(s)"))
    semi = _rows(db, "SELECT max(speedup_semistructured), any_value(semistructured_backend) "
                     "FROM results WHERE method LIKE 'nm_%'") if db.exists() else [(None, None)]
    table.append(("2:4 semi-structured kernels", semi[0][0] is not None, 0.0,
                  f"speedup {semi[0][0]} ({semi[0][1]}), capability {capability}"))

    code, text, seconds = _run([sys.executable, "-m", "bench", "retime", "--db", str(db),
                                "--device", "cuda", "--bench-cache", str(cache), "--json"])
    try:
        timed = json.loads(text[text.index("["):]) if "[" in text else []
    except ValueError:
        timed = []
    table.append(("retime --device cuda", code == 0 and bool(timed), seconds,
                  f"{len(timed)} kept models timed"))

    code, text, seconds = _lm_case(cache)
    table.append(("lm case (tiny_gpt, wanda 2:4)", code == 0, seconds, text))

    width = max(len(r[0]) for r in table)
    print(f"\ndevice check on {name} (capability {capability}), torch {torch.__version__}\n")
    print(f"{'check':<{width}}  ok     seconds  found")
    for check, ok, seconds, found in table:
        print(f"{check:<{width}}  {'yes' if ok else 'NO ':<5}  {seconds:7.1f}  {found}")
    return 0 if all(r[1] for r in table) else 1


def _lm_case(cache: Path) -> tuple[int, str, float]:
    """The smallest language-model case on cuda, in this process: (0 or 1, what it found, s)."""
    start = time.perf_counter()
    sys.path.insert(0, str(REPO))
    from bench.harness.case import Case
    from bench.harness.env import BenchEnv
    from bench.harness.runner import execute
    from bench.training.zoo import Zoo

    env = BenchEnv(zoo=Zoo(cache, device="cuda"), methods_dir=str(REPO / "methods"), device="cuda")
    row, error = execute(Case("wanda", "shakespeare", "tiny_gpt", 2, 0, pattern="2:4",
                              calibration_size=8), env)
    found = (f"perplexity {row.get('perplexity', float('nan')):.2f} (dense "
             f"{row.get('perplexity_dense', float('nan')):.2f}), prefill speedup "
             f"{row.get('speedup_measured_prefill')}, on {row.get('device')}") if error is None \
        else f"failed: {str(error).splitlines()[0]}"
    return (0 if error is None else 1), found, time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
