"""The weights cache on disk: one folder per key, checksummed, written atomically, locked."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch
from filelock import FileLock

from bench.errors import BenchError

# Every kind of entry the cache holds, with the prefix of its keys (then 12 hex digits). Export,
# import, listing and cleaning go by this list: a new kind is added here.
KINDS = {"model": "", "checkpoint": "", "imp-round": "imp-"}
KEY = re.compile("(?:" + "|".join(sorted({re.escape(p) for p in KINDS.values()})) + ")[0-9a-f]{12}")


def entry_key(kind: str, digest: str) -> str:
    """The cache key of an entry of `kind` whose identity hashes to `digest` (12 hex digits)."""
    return KINDS[kind] + digest


def kind_of(meta: dict) -> str:
    """'model' (trained weights), 'checkpoint' (a step of pretraining) or the entry's own kind
    (e.g. 'imp-round': the state after an iterative-pruning round, kept to resume)."""
    if meta.get("kind"):
        return str(meta["kind"])
    return "checkpoint" if "pretrained" in meta else "model"


def default_cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The cache root: explicit value, else $BENCH_CACHE, else the user's cache directory."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("BENCH_CACHE"):
        return Path(os.environ["BENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "prunebench"


class CacheNotWritableError(BenchError, OSError):
    """The weights cache folder cannot be written (read-only, full, not ours)."""


class WeightsCache:
    """State dicts with JSON metadata under `root/<key>/`; a damaged entry is never loaded."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = default_cache_dir(root)

    def paths(self, key: str) -> tuple[Path, Path]:
        """Weights file and metadata file of `key`."""
        folder = self.root / key
        return folder / "weights.pt", folder / "meta.json"

    def load(self, key: str) -> tuple[dict[str, torch.Tensor], dict] | None:
        """(state dict, metadata) of `key`, or None when absent or damaged (with a warning)."""
        weights, meta_path = self.paths(key)
        if not (weights.is_file() and meta_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("sha256") != sha256(weights):
                raise ValueError("checksum mismatch")
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, flipped bytes, a pickle with code: never load it
            warnings.warn(f"cache entry {key} is corrupted ({exc}); it will be made again",
                          stacklevel=2)
            return None
        return state, meta

    def store(self, key: str, state: dict[str, torch.Tensor], meta: dict) -> dict:
        """Write the weights, then the metadata with their sha256; returns the metadata."""
        weights, meta_path = self.paths(key)
        with self._writable():
            weights.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(weights, lambda f: torch.save(state, f))
            meta = meta | {"key": key, "sha256": sha256(weights)}
            atomic_write(meta_path, lambda f: f.write(json.dumps(meta, indent=2).encode()))
        return meta

    def intact(self, key: str, meta: dict) -> bool:
        """True when `key`'s weights file exists and matches the sha256 recorded in `meta`."""
        weights = self.paths(key)[0]
        return weights.is_file() and meta.get("sha256") == sha256(weights)

    def meta(self, key: str) -> dict | None:
        """The metadata of `key` as recorded (sha256 of the weights included), without reading or
        verifying the weights; None when the entry is absent."""
        meta_path = self.paths(key)[1]
        try:
            return json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the file lock of `key` (one process makes an entry; the others wait, then read)."""
        with self._writable():
            self.root.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.root / f"{key}.lock"))
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def _writable(self) -> Iterator[None]:
        """Turn a refusal to write into the cache (read-only, no space) into one clear error."""
        try:
            yield
        except OSError as exc:
            raise CacheNotWritableError(
                f"the pretrained-model cache {self.root} cannot be written ({exc.strerror or exc}); "
                "entries missing from it must be made there: point --bench-cache DIR (or "
                "$BENCH_CACHE) at a writable folder") from None

    def entries(self, verify: bool = False) -> list[dict]:
        """Metadata of every entry; with `verify`, each gets `valid` (weights match the checksum)."""
        out = []
        for meta_path in sorted(self.root.glob("*/meta.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if verify:
                meta["valid"] = self.intact(meta_path.parent.name, meta)
            out.append(meta)
        return out


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over `path`. The file gets
    the permissions a plain open() would give (mkstemp's are owner-only, which would hide a
    shared cache's entries from the other users of a group)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read by setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
