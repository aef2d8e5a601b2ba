"""The cases a database already holds as passed, by identity: what a resumed run need not redo."""

from __future__ import annotations

import duckdb

from bench.harness.identity import IDENTITY
from bench.results.store import columns_of

# case_key -> [[method_hash, pretrained_sha256, pretrain_recipe_key, recipe_key, run_id], ...]
Finished = dict[str, list[list[str]]]


def finished_cases(con: duckdb.DuckDBPyConnection) -> Finished:
    """Identities whose latest row (by run start, then case start) passed, with the run id whose
    row stands. A case that failed after it passed is not finished: it runs again."""
    if not set(IDENTITY) <= set(columns_of(con, "results")):
        return {}
    cols = ", ".join(f"x.{c}" for c in IDENTITY)
    sql = (f"SELECT {cols}, x.run_id, x.status FROM results x LEFT JOIN runs r USING (run_id) "
           "WHERE x.case_key IS NOT NULL "
           f"QUALIFY row_number() OVER (PARTITION BY {cols} "
           "ORDER BY r.started_at DESC NULLS LAST, x.started_at DESC NULLS LAST) = 1")
    out: Finished = {}
    for *ident, run_id, status in con.execute(sql).fetchall():
        if status == "passed" and all(ident[:3]):  # recipes: none for language-model cases
            out.setdefault(ident[0], []).append([*ident[1:], run_id])
    return out


def merge_finished(*found: Finished) -> Finished:
    """The union of several databases' finished cases."""
    out: Finished = {}
    for one in found:
        for key, entries in one.items():
            out.setdefault(key, []).extend(e for e in entries if e not in out.get(key, []))
    return out


def standing_run(finished: Finished, identity: tuple | None) -> str | None:
    """The run id whose passed row stands for `identity` (as bench.harness.identity.expected
    gives it), or None when the case has to run."""
    if identity is None:
        return None
    for entry in finished.get(identity[0], []):
        if tuple(entry[:-1]) == tuple(identity[1:]):
            return entry[-1]
    return None
