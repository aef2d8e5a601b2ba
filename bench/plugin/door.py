"""Refusals at the door: the device, the exact grid selection (--bench-ratios, --bench-seeds), a
selection that leaves no case, and --bench-timeout; each checked before any case runs."""

from __future__ import annotations

import pytest

from bench.plugin.items import case_of
from bench.plugin.pairs import dropped_lines
from bench.plugin.shard import EMPTY_SHARD
from bench.suggest import did_you_mean

_COLLECTED = pytest.StashKey[list]()  # the bench cases collected, before any deselection


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench")
    group.addoption("--bench-ratios", default=None, metavar="R,R",
                    help="run only the cases of these compression ratios, exactly (e.g. 2,4; "
                         "-k r1 would also select r16)")
    group.addoption("--bench-seeds", default=None, metavar="S,S",
                    help="run only the cases of these seeds, exactly (e.g. 0,1)")
    group.addoption("--bench-timeout", default=None, type=float, metavar="SECONDS",
                    help="fail a case that runs longer (its row: status failed and the reason; "
                         "uses pytest-timeout)")


def _numbers(config: pytest.Config, option: str, kind: type) -> set | None:
    text = config.getoption(option)
    if text is None:
        return None
    try:
        return {kind(v) for v in text.split(",") if v.strip()}
    except ValueError:
        raise pytest.UsageError(f"--{option.replace('_', '-')} takes comma-separated "
                                f"{kind.__name__}s such as 2,4; got {text!r}") from None


@pytest.hookimpl(tryfirst=True)  # before the results database is opened
def pytest_configure(config: pytest.Config) -> None:
    # the device is checked by bench.plugin.devices (with the number of workers)
    _numbers(config, "bench_ratios", float)
    _numbers(config, "bench_seeds", int)
    timeout = config.getoption("bench_timeout")
    if timeout is not None and (timeout <= 0 or not config.pluginmanager.hasplugin("timeout")):
        raise pytest.UsageError("--bench-timeout needs a positive number of seconds and the "
                                "pytest-timeout plugin (pip install pytest-timeout)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Count the cases before -k, -m or a suite deselects any; keep only the exact ratios/seeds."""
    config.stash[_COLLECTED] = [c for c in map(case_of, items) if c is not None]
    ratios, seeds = _numbers(config, "bench_ratios", float), _numbers(config, "bench_seeds", int)
    timeout = config.getoption("bench_timeout")
    keep, drop = [], []
    for item in items:
        case = case_of(item)
        if case is not None and ((ratios is not None and case.ratio not in ratios)
                                 or (seeds is not None and case.seed not in seeds)):
            drop.append(item)
            continue
        if case is not None and timeout is not None:  # signal: the case fails, its row is kept
            item.add_marker(pytest.mark.timeout(timeout, method="signal"))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _lm_problems(config: pytest.Config, items: list[pytest.Item]) -> str:
    """Language-model cases among `items` whose model or data cannot be found, or ''."""
    pairs = {(c.dataset, c.arch) for c in map(case_of, items) if c is not None and c.task == "lm"}
    if not pairs:
        return ""
    from bench.lm import door_problem

    problems = sorted({p for d, a in pairs if (p := door_problem(d, a, config.getoption("bench_data")))})
    return "language-model cases cannot run:\n  " + "\n  ".join(problems) if problems else ""


def _what_selected(config: pytest.Config) -> str:
    parts = [f"-k {config.option.keyword!r}" if config.option.keyword else "",
             f"-m {config.option.markexpr!r}" if config.option.markexpr else "",
             *(f"--{o.replace('_', '-')} {config.getoption(o)}" for o in
               ("bench_suite", "bench_ratios", "bench_seeds") if config.getoption(o))]
    return " ".join(p for p in parts if p) or "the selection"


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cannot_run(config: pytest.Config) -> str:
    """What the selection holds cannot run (method and protocol pairs), or ''."""
    cannot = dropped_lines(config)
    return f"none of the selected cases can run: {'; '.join(cannot)}" if cannot else ""


def _selects_none(config: pytest.Config, cases: list) -> str:
    """The selection keeps none of the cases collected: what they have, a near miss of -k."""
    words = sorted({w for c in cases for w in c.id.split("-")})
    hint = did_you_mean(config.option.keyword, words) if config.option.keyword else ""
    grid = "; ".join(f"{name}: {', '.join(map(_text, sorted(values)))}" for name, values in (
        ("methods", {c.method for c in cases}), ("ratios", {c.ratio for c in cases}),
        ("seeds", {c.seed for c in cases})))
    return (f"{_what_selected(config)} selects none of the {len(cases)} cases "
            f"collected{hint}; they have {grid}")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Bench cases were collected but the selection kept none, or selected language-model cases
    lack their model or data: refuse with what there is."""
    cases = session.config.stash.get(_COLLECTED, [])
    message = _lm_problems(session.config, session.items)  # the cases selected, after -k and shards
    if not message:
        if not cases or session.items or EMPTY_SHARD in session.config.stash:  # empty shard: no error
            return
        message = _cannot_run(session.config) or _selects_none(session.config, cases)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is None:
        raise pytest.UsageError(message)
    workeroutput["bench_refusal"] = message  # an xdist worker: the controller refuses


_REFUSAL = pytest.StashKey[str]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """On the xdist controller: a worker found that the selection leaves no case."""
    message = getattr(node, "workeroutput", {}).get("bench_refusal")
    if message:
        node.config.stash[_REFUSAL] = message


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if _REFUSAL in session.config.stash and not session.testscollected:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if _REFUSAL in config.stash:
        terminalreporter.write_line(f"ERROR: {config.stash[_REFUSAL]}", red=True)
