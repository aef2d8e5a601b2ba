"""A full file system under the results database: recognised in any error, told in one line."""

from __future__ import annotations

import errno
from pathlib import Path

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})  # no space left; disk quota exceeded
FULL_WORDS = ("no space left on device", "disk quota exceeded", "disk full")


def is_disk_full(exc: BaseException | None) -> bool:
    """True when `exc`, or an error it was raised from, says the file system is full."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        if any(word in str(exc).lower() for word in FULL_WORDS):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def message(db: str | Path) -> str:
    """The one line for a full file system under `db`: the problem and the fix."""
    return (f"no space left on the file system of the results database {db}: free space there, "
            "or pass --bench-db a path on another file system")
