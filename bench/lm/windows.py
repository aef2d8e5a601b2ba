"""Token windows of a corpus: the test windows perplexity is taken over, and calibration windows.

Calibration windows are a function of (corpus, count, length, seed, tokenizer) alone, drawn as
Wanda's and SparseGPT's code draw them from C4: a random document long enough, then a random
window inside it; for the embedded corpus, random places in its calibration text. Test windows are
the first non-overlapping windows of the test text. Neither ever comes from the other's text.
"""

from __future__ import annotations

import hashlib
import os
import random
from functools import lru_cache

import torch
from torch import Tensor

from bench.errors import InvalidValueError
from bench.lm import corpus as corpora
from bench.lm.tokenizer import Tokenizer

CHARS_PER_TOKEN = 8  # characters cut around a random place: enough for `length` tokens of any tokenizer
MAX_DRAWS = 10_000  # documents tried per window before the corpus is called too short


def calibration(corpus: str, count: int, length: int, seed: int, tokenizer: Tokenizer,
                root: str | os.PathLike | None = None) -> Tensor:
    """`count` calibration windows of `length` tokens (a LongTensor count x length) drawn from
    `corpus`'s calibration text with `seed`; the same arguments give the same windows."""
    if count < 1 or length < 2:
        raise InvalidValueError(f"calibration needs at least 1 window of 2 tokens, got {count} x {length}")
    docs = corpora.calibration_documents(corpus, root)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        for _ in range(MAX_DRAWS):
            doc = docs[rng.randrange(len(docs))]
            start = rng.randrange(max(1, len(doc) - length * CHARS_PER_TOKEN))
            ids = tokenizer.encode(doc[start:start + length * CHARS_PER_TOKEN])
            if len(ids) > length:
                first = rng.randrange(len(ids) - length)
                out.append(ids[first:first + length])
                break
        else:
            raise InvalidValueError(f"corpus {corpus!r} has no document of more than {length} tokens")
    return torch.tensor(out, dtype=torch.long)


def test_windows(corpus: str, length: int, tokenizer: Tokenizer, count: int | None = None,
                 root: str | os.PathLike | None = None) -> Tensor:
    """The first `count` non-overlapping windows of `length` tokens of the test text (None: all
    of them, as the papers score WikiText-2)."""
    ids = _encoded_test(corpus, tokenizer, str(root) if root else None)
    whole = len(ids) // length
    n = whole if count is None else min(count, whole)
    if n < 1:
        raise InvalidValueError(f"the test text of {corpus!r} has fewer than {length} tokens")
    return ids[: n * length].view(n, length)


@lru_cache(maxsize=8)
def _encoded_test(corpus: str, tokenizer: Tokenizer, root: str | None) -> Tensor:
    return torch.tensor(tokenizer.encode(corpora.test_text(corpus, root)), dtype=torch.long)


def fingerprint(windows: Tensor) -> str:
    """sha256 of the windows' token ids (int64, row-major): the identity of what was used."""
    return hashlib.sha256(windows.to(torch.int64).contiguous().numpy().tobytes()).hexdigest()
