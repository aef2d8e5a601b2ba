"""The README's worked example is made by scripts/readme_example.py, not typed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("readme_example",
                                                  REPO / "scripts" / "readme_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_block_is_the_scripts_output():
    script = _script()
    text = (REPO / "README.md").read_text()
    assert text.count(script.BEGIN) == 1 and text.count(script.END) == 1
    block = " ".join(text.split(script.BEGIN, 1)[1].split(script.END, 1)[0].split())
    assert "Regenerate with `python scripts/readme_example.py --write`" in block
    assert "thread per process, at a load average of" in block  # its conditions are stated
    assert f"$ python -m bench report --db /tmp/mj.duckdb --method {script.METHODS}" in block


def test_only_the_progress_and_summaries_of_pytest_are_kept():
    out = ("============ test session starts ============\nplatform linux\nrootdir: /x\n"
           "suites/suite_default.py ....    [100%]\n\n- bench: 4 case rows written to /t (run r) -\n"
           "========= 4 passed, 2 deselected in 3.1s =========\n")
    assert _script()._pytest_lines(out) == [
        "suites/suite_default.py ....    [100%]", "- bench: 4 case rows written to /t (run r) -",
        "========= 4 passed, 2 deselected in 3.1s ========="]
