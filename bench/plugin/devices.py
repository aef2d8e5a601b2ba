"""One device per xdist worker: with --bench-device cuda, worker i gets GPU i mod count, and no
two workers share a GPU unless --bench-share-gpu; a device that is not there is refused before
any case runs. The controller assigns devices and hands them to workers in `workerinput`."""

from __future__ import annotations

import pytest
import torch

from bench.suggest import did_you_mean

WORKERINPUT_KEY = "bench_device"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("bench").addoption(
        "--bench-share-gpu", action="store_true",
        help="let several xdist workers share a GPU (default: one GPU per worker, more workers "
             "than GPUs is refused)")


def device_problem(device: str, workers: int, share: bool, count: int) -> str | None:
    """Why `device` cannot serve `workers` xdist workers (0: serial) with `count` GPUs, or None."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        hint = did_you_mean(device, ["cpu", "cuda", "mps", "xpu"])
        return f"--bench-device {device!r} is not a torch device{hint}; use cpu, cuda or cuda:N"
    if parsed.type == "cpu":
        return None
    if parsed.type != "cuda":
        available = getattr(getattr(torch.backends, parsed.type, None), "is_available", lambda: False)
        return None if available() else f"--bench-device {device}: no {parsed.type} device here; use cpu"
    if count == 0:
        return (f"--bench-device {device}: this machine cannot run it (no CUDA device is visible); "
                "devices here: cpu")
    if parsed.index is not None and parsed.index >= count:
        return f"--bench-device {device}: only {count} CUDA device(s) (cuda:0 .. cuda:{count - 1})"
    shared = workers > 1 if parsed.index is not None else workers > count
    if shared and not share:
        return (f"--bench-device {device} with {workers} workers but {count} GPU(s): workers would "
                f"share a GPU; use -n {count if parsed.index is None else 1}, --bench-device cuda "
                "(one GPU per worker), or --bench-share-gpu")
    return None


def worker_device(device: str, index: int, count: int) -> str:
    """The exact device of the worker with this index: 'cuda' becomes cuda:(index mod count)."""
    return f"cuda:{index % count}" if device == "cuda" and count else device


def _count(device: str) -> int:
    return torch.cuda.device_count() if device.startswith("cuda") else 0


def _workers(config: pytest.Config) -> int:
    if getattr(config.option, "dist", "no") == "no":
        return 0
    return len(getattr(config.option, "tx", None) or [])


@pytest.hookimpl(tryfirst=True)  # before the results database is opened
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or config.option.help or config.option.collectonly:
        return
    device = config.getoption("bench_device")
    problem = device_problem(device, _workers(config), config.getoption("bench_share_gpu"),
                             _count(device))
    if problem:
        raise pytest.UsageError(problem)
    if _workers(config):
        config.pluginmanager.register(DeviceAssigner(device, _count(device)), "bench-device-assigner")


def device_of(config: pytest.Config) -> str:
    """The exact device this process runs cases on."""
    given = getattr(config, "workerinput", {}).get(WORKERINPUT_KEY)
    if given:
        return given
    device = config.getoption("bench_device")
    return worker_device(device, 0, _count(device))


class DeviceAssigner:
    """On the controller: a GPU for each xdist worker as it starts, the lowest one no live worker
    holds (a worker that replaces a crashed one gets the freed GPU); shared GPUs go round."""

    def __init__(self, device: str, count: int) -> None:
        self.device, self.count = device, count
        self.held: dict[str, int] = {}
        self.started = 0

    def pytest_configure_node(self, node) -> None:
        index = self.started
        free = [i for i in range(self.count) if i not in self.held.values()]
        if free and not node.config.getoption("bench_share_gpu"):
            index = free[0]
        self.started += 1
        self.held[node.gateway.id] = index % self.count if self.count else index
        node.workerinput[WORKERINPUT_KEY] = worker_device(self.device, index, self.count)

    def pytest_testnodedown(self, node, error) -> None:
        self.held.pop(node.gateway.id, None)
