"""Progress of a long run: the training steps of the selection after collection; on a terminal,
one live line (cases done of total, passed, failed, skipped by resume, elapsed, time left), else a
progress line at least every PROGRESS_INTERVAL_S; at the end, where the time went by phase."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import TextIO

import pytest

from bench.harness.expected import total_steps
from bench.harness.timing import PHASES
from bench.plugin.items import case_of
from bench.plugin.writer import RESUMED_PROPERTY

ROW_PROPERTY = "bench_row"  # as bench.plugin.writer.ROW_PROPERTY (kept apart: no import cycle)
PROGRESS_INTERVAL_S = 30.0  # most seconds between two progress lines (a test may lower it)


def clock(seconds: float) -> str:
    """1h02m, 3m05s or 42s."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class Progress:
    """On the controller: counts finished tests from their reports and sums the rows' phase times."""

    def __init__(self, live: bool, stream: TextIO | None = None) -> None:
        self.live, self.total, self.start = live, None, time.monotonic()
        self.stream = stream or sys.stdout  # where the periodic line goes (not captured by tests)
        self.running: dict[str, float] = {}  # nodeid -> monotonic start, of the tests under way
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self.counts = {"passed": 0, "failed": 0, "skipped": 0, "resumed": 0}
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.case_seconds, self.rows = 0.0, 0

    def line(self, now: float | None = None) -> str:
        """The live line: done of total, outcomes, elapsed and (from the cases run so far) time left."""
        c, elapsed = self.counts, (now or time.monotonic()) - self.start
        done = sum(c.values())
        ran = done - c["resumed"]
        text = (f"bench: {done}/{self.total or '?'} cases, {c['passed']} passed, {c['failed']} failed, "
                f"{c['resumed']} resumed, {c['skipped']} skipped, {clock(elapsed)} elapsed")
        if self.total and ran and done < self.total:
            text += f", ~{clock(elapsed / ran * (self.total - done))} left"
        return text

    def running_text(self, now: float | None = None) -> str:
        """The longest-running test under way and for how long ('' when none)."""
        with self._lock:
            if not self.running:
                return ""
            nodeid, since = min(self.running.items(), key=lambda kv: kv[1])
        return f"; running {nodeid.rpartition('::')[2]} for {clock((now or time.monotonic()) - since)}"

    def heartbeat(self) -> None:
        """One progress line now: redrawn in place on a terminal, a new line otherwise."""
        if self.live:
            sys.stderr.write("\r\x1b[K" + self.line())
            sys.stderr.flush()
        else:
            # on a line of its own: pytest's progress letters may be mid-line
            self.stream.write("\n" + self.line() + self.running_text() + "\n")
            self.stream.flush()

    def _beat_loop(self) -> None:
        while not self._stop.wait(PROGRESS_INTERVAL_S):
            try:
                self.heartbeat()
            except (OSError, ValueError):  # the stream was closed under us: stop quietly
                return

    def pytest_report_collectionfinish(self, config: pytest.Config, items: list[pytest.Item]
                                       ) -> list[str]:
        cases = [c for c in map(case_of, items) if c is not None]
        if not cases:
            return []
        steps, unknown = total_steps(cases)
        text = f"bench: {len(cases)} cases selected, about {steps:,} training steps expected"
        text += " after pretraining (pretraining, when not cached, comes on top)"
        return [text + (f"; {unknown} cases of unknown length" if unknown else "")]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.total is None and not hasattr(session.config, "workerinput"):
            self.total = len(session.items) or None

    def pytest_sessionstart(self) -> None:
        self._beat = threading.Thread(target=self._beat_loop, name="bench-progress", daemon=True)
        self._beat.start()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        with self._lock:
            self.running[nodeid] = time.monotonic()

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        with self._lock:
            self.running.pop(nodeid, None)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.total = len(ids)

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report, config):
        result = yield
        if self.live and result and report.when in ("setup", "call", "teardown"):
            return (result[0], "", result[2])  # the live line replaces the progress letters
        return result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not (report.when == "call" or report.when == "???"
                or (report.when == "setup" and not report.passed)):
            return
        props = dict(report.user_properties)
        if RESUMED_PROPERTY in props:
            self.counts["resumed"] += 1
        else:
            outcome = "failed" if report.failed else report.outcome
            self.counts[outcome if outcome in self.counts else "failed"] += 1
        if ROW_PROPERTY in props:
            row = json.loads(props[ROW_PROPERTY])
            self.rows += 1
            self.case_seconds += row.get("duration_s") or 0.0
            for name in PHASES:
                self.seconds[name] += row.get(f"seconds_{name}") or 0.0
        if self.live:
            sys.stderr.write("\r\x1b[K" + self.line())
            sys.stderr.flush()

    def pytest_sessionfinish(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        if self.live:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()

    def pytest_unconfigure(self) -> None:
        if self.stream is not sys.stdout:
            self.stream.close()

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.rows or not self.case_seconds:
            return
        parts = [f"{label} {self.seconds[name]:.1f}s ({self.seconds[name] / self.case_seconds:.0%})"
                 for name, label in PHASES.items() if self.seconds[name] > 0]
        other = max(0.0, self.case_seconds - sum(self.seconds.values()))
        parts.append(f"other {other:.1f}s ({other / self.case_seconds:.0%})")
        terminalreporter.write_line(f"bench: time of {self.rows} cases ({self.case_seconds:.1f}s in "
                                    f"all) by phase: " + ", ".join(parts))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    live = bool(reporter.isatty()) and sys.stderr.isatty() and config.get_verbosity() <= 0
    config.pluginmanager.register(Progress(live, _uncaptured_stdout()), "bench-progress")


def _uncaptured_stdout() -> TextIO:
    """The output as it is now, before pytest captures a test's output (a copy of its file
    descriptor, so that a line written during a test is not swallowed); else sys.stdout."""
    try:
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    except (AttributeError, OSError, ValueError):  # in-process runs: a stream without a descriptor
        return sys.stdout
