"""Versions of a setting's results (method source, pretrained weights, recipes, bench): the
current one is read, the others are counted and left out, or each is shown on its own."""

from __future__ import annotations

from collections.abc import Sequence

CHOICES = ("current", "all")
VERSION = "version"  # column of the case_results view: method|weights|pretrain recipe|recipe|bench


def select(rows: Sequence[dict], versions: str = "current") -> tuple[list[dict], int]:
    """The rows to report and how many rows of other versions were left out. 'current' keeps the
    rows of each setting's current version (`current_version`, set by the case_results view; a
    row without it counts as current); 'all' keeps every row (report each version on its own
    line by grouping on `version`)."""
    if versions not in CHOICES:
        raise ValueError(f"versions must be one of {', '.join(CHOICES)}, not {versions!r}")
    if versions == "all":
        return list(rows), 0
    kept = [r for r in rows if r.get("current_version") is not False]
    return kept, len(rows) - len(kept)


def short(version: str | None) -> str:
    """A version as shown in a report: each part cut to 7 characters."""
    return "|".join(part[:7] for part in (version or "-").split("|"))
