"""Rows the database refused, kept beside it (<db>.pending.jsonl) until a later run takes them in."""

from __future__ import annotations

import json
import os
from pathlib import Path


def pending_path(db: str | Path) -> Path:
    """The file beside `db` that keeps the rows it refused."""
    return Path(f"{db}.pending.jsonl")


def line(run: dict, row: dict) -> str:
    """One refused row with its run's record: a line of the pending file."""
    return json.dumps({"run": run, "row": row}, default=str) + "\n"


def keep(db: str | Path, run: dict, row: dict) -> Path:
    """Append one refused row (with its run's record) as one JSON line: a single O_APPEND write,
    flushed to disk, so a crash leaves whole lines only (a torn last line is skipped on reading)."""
    path = pending_path(db)
    line_ = line(run, row).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(line_)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read(db: str | Path) -> list[dict]:
    """The rows kept beside `db`, oldest first (lines that are not whole JSON are left out)."""
    path = pending_path(db)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("row"), dict):
            out.append(entry)
    return out


def take_in(store) -> tuple[int, int]:
    """Write the rows kept beside `store`'s database into it; return (taken in, still kept).
    Rows it still refuses stay in the file; the file goes when it is empty."""
    entries = read(store.path)
    if not entries:
        return 0, 0
    left = []
    for entry in entries:
        try:
            store.ensure_run(entry.get("run") or {"run_id": entry["row"]["run_id"]})
            store.write_case(entry["row"])
        except Exception:
            left.append(entry)
    path = pending_path(store.path)
    if left:
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e, default=str) + "\n" for e in left))
        os.replace(tmp, path)
    else:
        path.unlink(missing_ok=True)
    return len(entries) - len(left), len(left)
