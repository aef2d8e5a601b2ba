"""Freeing the weights cache: choose entries by kind, dataset, arch, seed or damage, and remove
them, never one that another process is writing (its lock is held)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from filelock import FileLock, Timeout

from bench.errors import InvalidValueError
from bench.training import cache as cache_entries
from bench.training.cache import KEY, WeightsCache, kind_of

KINDS = (*cache_entries.KINDS, "damaged")


class NothingChosenError(InvalidValueError):
    """`zoo clean` was asked to remove entries without saying which."""


@dataclass(frozen=True)
class Entry:
    """One folder of the cache: its key, kind, metadata (empty when unreadable) and size."""

    key: str
    kind: str
    meta: dict
    bytes: int


def entries(cache: WeightsCache, verify: bool = False) -> list[Entry]:
    """Every entry folder under the cache root (named by a key of one of KINDS; the language
    models' own folder, lm/, is not among them); with `verify`, a folder whose weights miss their
    checksum (or whose metadata cannot be read) is of kind 'damaged'."""
    out = []
    for folder in sorted(p for p in cache.root.glob("*") if p.is_dir() and KEY.fullmatch(p.name)):
        meta = cache.meta(folder.name) or {}
        damaged = not meta or (verify and not cache.intact(folder.name, meta))
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        out.append(Entry(folder.name, "damaged" if damaged else kind_of(meta), meta, size))
    return out


def choose(cache: WeightsCache, kinds=None, datasets=None, archs=None, seeds=None,
           keys=None) -> list[Entry]:
    """The entries matching every selector given (None: any); at least one must be given."""
    if not any((kinds, datasets, archs, seeds, keys)):
        raise NothingChosenError(
            f"say which entries to remove: --kind ({', '.join(KINDS)}), "
            "--datasets, --archs, --seeds or --keys (python -m bench zoo lists them)")
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        raise NothingChosenError(f"unknown kind {', '.join(unknown)}; the kinds are "
                                 f"{', '.join(KINDS)}")
    found = entries(cache, verify="damaged" in (kinds or ()))
    return [e for e in found
            if (not kinds or e.kind in kinds) and (not keys or e.key in keys)
            and (not datasets or e.meta.get("dataset") in datasets)
            and (not archs or e.meta.get("arch") in archs)
            and (not seeds or e.meta.get("seed") in seeds)]


def remove(cache: WeightsCache, chosen: list[Entry]) -> dict[str, str]:
    """Delete the chosen entries; {key: 'removed' or 'in use'} (an entry whose lock another
    process holds is being written or read, and is left alone). Lock files stay: they are
    empty, and deleting one that a waiting process has open would let two processes hold it."""
    outcome = {}
    for entry in chosen:
        lock = FileLock(str(cache.root / f"{entry.key}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            outcome[entry.key] = "in use"
            continue
        try:
            shutil.rmtree(cache.root / entry.key)
        finally:
            lock.release()
        outcome[entry.key] = "removed"
    return outcome
