"""Resume: a case whose identity already has a passed row in the database is skipped, not redone.

The controller reads the finished identities before any case runs (from its own database and any
--bench-resume-from databases): under xdist at configure, handing them to the workers in
`workerinput`; in one process once collection has found a case to run (the database is opened
then, not by a session without cases). Whichever process collects marks the finished cases
skipped. A skipped-by-resume case writes no row: the passed row keeps standing (a `skipped` row
would be the case's latest and hide it in the report).
"""

from __future__ import annotations

import os

import pytest

from bench.harness.identity import expected
from bench.methods import discover
from bench.plugin import results_db
from bench.plugin.items import RESUMED, case_of
from bench.results.finished import Finished, finished_cases, merge_finished, standing_run
from bench.results.read import open_db
from bench.training.cache import WeightsCache

WORKERINPUT_KEY = "bench_finished"
FINISHED = pytest.StashKey[Finished]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench")
    group.addoption("--bench-rerun", action="store_true",
                    help="run every selected case, even those with a passed row in the database "
                         "(default: skip them, i.e. resume)")
    group.addoption("--bench-resume-from", action="append", default=[], metavar="DB",
                    help="also skip cases that passed in this database (repeatable; e.g. the "
                         "merged database of a sharded grid; a file not there yet is ignored)")


@pytest.hookimpl(trylast=True)  # after bench.plugin opened the store (xdist)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        config.stash[FINISHED] = config.workerinput.get(WORKERINPUT_KEY, {})
    elif getattr(config.option, "dist", "no") != "no":  # the workers get them when they start
        config.stash[FINISHED] = _finished(config)


def _finished(config: pytest.Config) -> Finished:
    """The finished identities of the session's database and the --bench-resume-from ones."""
    found: list[Finished] = []
    if not config.getoption("bench_rerun"):
        writer = config.pluginmanager.get_plugin(results_db.WRITER_NAME)
        if writer is not None and writer.store.path.exists():
            with writer.store.connection(wait=3.0) as con:
                found.append(finished_cases(con))
        for path in config.getoption("bench_resume_from"):
            if os.path.exists(path):
                con = open_db(path)
                try:
                    found.append(finished_cases(con))
                finally:
                    con.close()
    return merge_finished(*found)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist, on the controller: hand the finished identities to each worker."""
    node.workerinput[WORKERINPUT_KEY] = node.config.stash.get(FINISHED, {})


@pytest.hookimpl(trylast=True)  # after -k, suites and shards have chosen the items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FINISHED not in config.stash and any(case_of(item) is not None for item in items):
        results_db.open_writer(config)  # one process, a case to run: open the database now
        config.stash[FINISHED] = _finished(config)
    finished = config.stash.get(FINISHED, {})
    if not finished:
        return
    methods = discover(os.environ.get("BENCH_METHODS"))
    cache = WeightsCache(config.getoption("bench_cache"))
    metas: dict = {}  # pretrained key -> its cache metadata, read once for all its cases
    for item in items:
        case = case_of(item)
        if case is None:
            continue
        run_id = standing_run(finished, expected(case, methods, cache, metas))
        if run_id:
            item.stash[RESUMED] = run_id
            item.add_marker(pytest.mark.skip(
                reason=f"resume: passed in run {run_id} (--bench-rerun runs it again)"))
