"""One GPU per worker: the mapping under a faked GPU count, and refusals before any case runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch

from bench.plugin.devices import DeviceAssigner, device_problem, worker_device

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def node(gid: str, share: bool = False):
    config = SimpleNamespace(getoption=lambda name: share)
    return SimpleNamespace(gateway=SimpleNamespace(id=gid), workerinput={}, config=config)


def test_worker_i_gets_gpu_i_mod_count():
    assert [worker_device("cuda", i, 2) for i in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert worker_device("cuda:1", 3, 2) == "cuda:1" and worker_device("cpu", 3, 0) == "cpu"


def test_the_assigner_gives_each_worker_its_own_gpu_and_reuses_a_freed_one():
    assigner = DeviceAssigner("cuda", 2)
    nodes = [node(f"gw{i}") for i in range(2)]
    for n in nodes:
        assigner.pytest_configure_node(n)
    assert [n.workerinput["bench_device"] for n in nodes] == ["cuda:0", "cuda:1"]
    assigner.pytest_testnodedown(nodes[0], "crashed")  # gw2 replaces gw0: it gets gw0's GPU
    again = node("gw2")
    assigner.pytest_configure_node(again)
    assert again.workerinput["bench_device"] == "cuda:0"
    shared = DeviceAssigner("cuda", 2)
    got = []
    for i in range(3):
        n = node(f"gw{i}", share=True)
        shared.pytest_configure_node(n)
        got.append(n.workerinput["bench_device"])
    assert got == ["cuda:0", "cuda:1", "cuda:0"]


def test_devices_that_cannot_serve_the_workers_are_refused(monkeypatch):
    assert device_problem("cpu", 4, False, 0) is None
    assert device_problem("cuda", 2, False, 2) is None
    assert "cannot run it (no CUDA device" in device_problem("cuda", 0, False, 0)
    assert "only 2 CUDA device(s)" in device_problem("cuda:2", 0, False, 2)
    assert "--bench-share-gpu" in device_problem("cuda", 3, False, 2)
    assert device_problem("cuda", 3, True, 2) is None
    assert "share a GPU" in device_problem("cuda:1", 2, False, 2)
    assert "not a torch device" in device_problem("gpu0", 0, False, 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    from bench.plugin.devices import _count
    assert _count("cuda") == 2


SUITE = '''
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("i", range(4))
def test_device(i, bench_env):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(f"{worker}={bench_env.device}").touch()
'''

CONFTEST = "import torch\ntorch.cuda.device_count = lambda: 2  # two fake GPUs\n"


def run(folder, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "BENCH_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "pytest", "suite_dev.py", "-p", "bench.plugin", "-q",
                           "-p", "no:cacheprovider", "--rootdir", str(folder), "--bench-no-db", *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def fake_gpus(tmp_path):
    (tmp_path / "suite_dev.py").write_text(textwrap.dedent(SUITE))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    return tmp_path


@pytest.mark.slow
def test_xdist_workers_get_their_own_fake_gpu(fake_gpus):
    proc = run(fake_gpus, "-n", "2", "--bench-device", "cuda")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in fake_gpus.glob("gw*")) == ["gw0=cuda:0", "gw1=cuda:1"]


@pytest.mark.slow
def test_more_workers_than_gpus_is_refused_before_any_worker_starts(fake_gpus):
    proc = run(fake_gpus, "-n", "3", "--bench-device", "cuda")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "--bench-share-gpu" in proc.stderr and not list(fake_gpus.glob("gw*"))
    (fake_gpus / "conftest.py").unlink()  # no GPU at all (this machine)
    proc = run(fake_gpus, "--bench-device", "cuda")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR and "no CUDA device" in proc.stderr
    assert not list(fake_gpus.glob("main=*"))
