"""Running one case: its identity into the row, then its protocol over a CaseRun."""

from __future__ import annotations

from bench.harness import row as rows
from bench.harness.case import Case
from bench.harness.env import BenchEnv
from bench.harness.protocols import resolve
from bench.harness.protocols.registry import Protocol
from bench.harness.saved_models import save_model
from bench.harness.steps import CaseRun, UnsupportedKindError

LM_PROTOCOLS = ("oneshot", "recover")  # what language-model cases run


def run_case(case: Case, env: BenchEnv, row: dict) -> dict:
    """Run `case`, filling `row` as it goes (so a failure keeps what was learnt), and return it."""
    protocol, run = prepare(case, env, row)
    protocol(run)
    if env.save_models:
        row.update(save_model(run, env.save_models))
    return row


def task_run(case: Case, env: BenchEnv, row: dict):
    """The run of the case's task: a CaseRun for classification, an LMRun for language models
    (the one place where the two tasks part)."""
    if case.task == "lm":
        from bench.lm.run import LMRun  # imports transformers: only when an LM case runs

        if resolve(case.protocol)[0].__name__ not in LM_PROTOCOLS:
            raise UnsupportedKindError(f"protocol {case.protocol!r} trains the model with a vision "
                                       f"recipe; language-model cases run {' or '.join(LM_PROTOCOLS)}")
        return LMRun(case, env, row)
    if resolve(case.protocol)[0].__name__ == "recover":
        raise UnsupportedKindError("protocol 'recover' is for language models; vision cases "
                                   "finetune with their recipe under oneshot (ft=...)")
    return CaseRun(case, env, row)


def prepare(case: Case, env: BenchEnv, row: dict) -> tuple[Protocol, CaseRun]:
    """The case's protocol and its CaseRun, the options resolved into the row (a bad protocol
    name or option fails here, before any work)."""
    row.update(rows.identity(case))
    protocol, options = resolve(case.protocol)
    run = task_run(case, env, row)
    row["protocol_options"] = "{}"
    for name, value in options.items():
        run.set_option(name, value)
    row["control"] = options.get("control") or None
    return protocol, run
