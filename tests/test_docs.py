"""The docs state what the code does: suite sizes as pytest collects them, suite names as the suite
files mark them, and every relative link and image of README.md and docs/*.md present."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.plugin.suites import suite_names

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# One interpreter collects every suite in turn (torch imported once): {suite: cases collected}.
COLLECT = """
import json, sys
import pytest
counts = {}
class Count:
    def __init__(self, name):
        self.name = name
    def pytest_collection_finish(self, session):
        counts[self.name] = len(session.items)
for name in sys.argv[2:]:
    pytest.main(["suites/", "--bench-suite", name, "--collect-only", "-qq", "-n", "0",
                 "-p", "no:cacheprovider", "--bench-db", sys.argv[1]], plugins=[Count(name)])
print("COUNTS", json.dumps(counts))
"""


def stated_counts() -> list[tuple[str, str, int]]:
    """(where, suite, cases) for each number of cases the docs state for a suite."""
    out = []
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("| `pytest suites/") and (n := re.search(r"(\d+) cases", line)):
            suite = re.search(r"--bench-suite (\w+)", line)
            out.append(("README.md", suite[1] if suite else "default", int(n[1])))
    structured = re.search(r"(\d+) cases\. On the 2-core machine",
                           (REPO / "docs/structured.md").read_text())
    collected = re.search(r"selects none of the (\d+) cases collected",
                          (REPO / "docs/checks.md").read_text())
    return [*out, ("docs/structured.md", "structured", int(structured[1])),
            ("docs/checks.md", "all", int(collected[1]))]


def test_the_suite_sizes_the_docs_state_are_those_collected(tmp_path):
    stated = stated_counts()
    assert {s for _, s, _ in stated} >= {"default", "confounders", "protocols", "structured"}
    proc = subprocess.run([sys.executable, "-c", COLLECT, str(tmp_path / "c.duckdb"),
                           *sorted({s for _, s, _ in stated})],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    line = [x for x in proc.stdout.splitlines() if x.startswith("COUNTS ")]
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    counts = json.loads(line[-1].removeprefix("COUNTS "))
    assert [(where, suite, n) for where, suite, n in stated if counts[suite] != n] == [], counts


def test_the_suite_names_the_docs_list_are_those_marked():
    marked = suite_names(SimpleNamespace(rootpath=REPO, args=[])) | {"all", "default"}
    listed = re.search(r"valid names: ([\w, ]+)`", (REPO / "docs/checks.md").read_text())
    assert listed and listed[1].split(", ") == sorted(marked)


def _links(path: Path) -> list[str]:
    """Relative targets of the markdown links and images in `path` (no URLs, no bare anchors)."""
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", path.read_text())
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_and_image_exists(doc):
    missing = [t for t in _links(doc) if not (doc.parent / t.split("#")[0]).exists()]
    assert missing == []


def test_methods_md_names_each_context_field_once_and_the_helpers_that_exist():
    from dataclasses import fields

    from bench import nm
    from bench.context import PruneContext

    text = (REPO / "docs/methods.md").read_text()
    listed = [name for row in re.findall(r"^\| (`ctx\.[^|]*)\|", text, re.M)
              for name in re.findall(r"`ctx\.(\w+)`", row)]
    documented = {f.name for f in fields(PruneContext)} | {"device"}
    assert sorted(listed) == sorted(set(listed)) and set(listed) == documented
    assert all(hasattr(nm, name) for name in re.findall(r"`bench\.nm\.(\w+)", text))
    assert "`bench.nm.pattern_masks(scores, N, M)` makes them" in " ".join(text.split())
