"""'Did you mean': the valid names closest to a mistyped one (difflib), for one-line refusals."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest of `choices`, or '' when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def unknown(kind: str, word: object, choices: Iterable[object]) -> str:
    """"unknown KIND 'word' (did you mean ...?); valid names: a, b, c"."""
    choices = sorted({str(c) for c in choices})
    valid = ", ".join(choices) or "(none)"
    return f"unknown {kind} {str(word)!r}{did_you_mean(word, choices)}; valid names: {valid}"
