"""Provenance of a run: git commit, host, hardware and library versions."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

import torch

import bench


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution`, read from its metadata without importing it
    (importing torchvision only to read its version cost 1.7 s of a 4.8 s resumed run)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def new_id() -> str:
    """A run's (or retiming session's) id: `YYYYmmddTHHMMSS-<8 hex>`, its start time and a random
    suffix, unique across machines."""
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def cpu_name() -> str:
    """The CPU model name where the OS tells it, else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect(root: Path, device: str) -> dict:
    """Everything a reader needs to know about where and with what a run was made."""
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain") if commit else None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "git_commit": commit, "git_dirty": bool(status) if status is not None else None,
        "command": " ".join(sys.argv), "host": socket.gethostname(),
        "platform": platform.platform(), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
        "gpu": gpu, "python": platform.python_version(), "torch": torch.__version__,
        "torchvision": installed_version("torchvision"), "bench_version": bench.__version__, "device": device,
    }
