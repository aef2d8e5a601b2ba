"""Commands that only read results start without importing torch; methods still get PruneContext."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Runs `python -m bench ARGS` and prints, last, whether torch was imported.
PROBE = """
import runpy, sys
sys.argv = ["bench"] + sys.argv[1:]
try:
    runpy.run_module("bench", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(f"\\nexit={code} torch={'torch' in sys.modules}")
"""


def probe(*args: str, cwd: Path = REPO) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc.stdout.strip().splitlines()[-1], proc.stdout


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    from bench.results.store import Store

    path = tmp_path_factory.mktemp("startup") / "r.duckdb"
    store = Store(path)
    store.start_run({"run_id": "r1", "started_at": "2024-01-01T00:00:00"})
    store.write_case({"run_id": "r1", "nodeid": "s.py::t[m-toy-net-r2-s0]", "case_id": "m-toy-net-r2-s0",
                      "status": "passed", "method": "m", "dataset": "toy", "arch": "net",
                      "ratio": 2.0, "seed": 0, "top1": 0.5, "top1_dense": 0.6, "compression": 2.0})
    store.close()
    return path


@pytest.mark.parametrize("args", [
    ["--version"], ["--help"], ["report", "--help"], ["methods", "--json"], ["datasets", "--json"],
    ["report", "--db", "{db}"], ["export", "--db", "{db}", "-o", "{tmp}/r.csv"],
    ["merge", "{db}", "-o", "{tmp}/m.duckdb"],
])
def test_reading_commands_do_not_import_torch(db, tmp_path, args):
    last, out = probe(*(a.format(db=db, tmp=tmp_path) for a in args))
    assert last == "exit=0 torch=False", out


@pytest.mark.slow
def test_methods_still_import_prune_context_from_bench():
    code = "import sys, bench; assert 'torch' not in sys.modules; from bench import PruneContext; " \
           "print(PruneContext.__module__, 'torch' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.stdout.split() == ["bench.context", "True"], out.stderr


def test_methods_json_lists_the_shipped_methods_without_torch():
    _, out = probe("methods", "--json")
    rows = json.loads(out[: out.rindex("]") + 1])
    assert {"random", "magnitude_global"} <= {r["name"] for r in rows}
    assert all(r["status"] == "not imported" and not r["imported"] for r in rows)
