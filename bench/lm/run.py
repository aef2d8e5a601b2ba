"""One language-model case in progress: the task's side of the seam. It speaks the protocols'
vocabulary (load, prune, finetune, measure) so that the same protocol functions drive it.

Ratio: for LM cases the ratio is taken over the prunable weights (the linear layers inside the
blocks), as the papers do: ratio 2 keeps half of them (`keep_fraction` 0.5); the row's
`compression` and `sparsity` keep their whole-model meaning."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Iterator

import torch
from torch import nn

from bench import nm
from bench.context import PruneContext, Target
from bench.errors import InvalidValueError
from bench.harness import timing
from bench.harness.case import UNSTRUCTURED, Case, parse_pattern
from bench.harness.env import BenchEnv
from bench.harness.steps import MethodChangedModelError, UnsupportedKindError, _check_not_revived
from bench.lm import corpus as corpora
from bench.lm import recovery
from bench.lm import windows as lm_windows
from bench.lm.calibrate import sequential
from bench.lm.channels import prune_structures
from bench.lm.measure import dense_figures, dense_profile, model_figures
from bench.lm.models import LanguageModel, load, prunable_linears
from bench.lm.perplexity import perplexity
from bench.lm.speed import tokens_per_second
from bench.masks import masks_hold, validate

CALIBRATIONS = (None, "norms", "gram")  # what a method may declare as CALIBRATION
# Threads of the prune step (calibration and method), fixed as pretraining's are: the rounding of
# the calibration sums depends on the thread count, and SparseGPT's sequential updates amplify it
# (SmolLM2 at 2:4, seed 0: perplexity 116.3 pruned with 1 thread, 110.7 with 2).
PRUNE_THREADS = 2


def dense_language_model(env: BenchEnv, arch: str) -> LanguageModel:
    """The dense language model `arch` on env.device, loaded once per process and shared by
    every case and retiming of it (never pruned: each case prunes a copy)."""
    key = "model", arch
    if key not in env.task_state:
        lm = load(arch, env.zoo.root)
        lm.model.to(env.device)
        env.task_state[key] = lm
    return env.task_state[key]


class LMRun:
    """One LM case: its model (a copy of the dense model), current masks and row."""

    def __init__(self, case: Case, env: BenchEnv, row: dict) -> None:
        self.case, self.env, self.row = case, env, row
        found = env.methods().get(case.method)
        row["method_hash"] = found.source_hash if found else None
        self.method = env.method(case.method)
        row["method_kind"] = self.method.kind
        if "lm" not in self.method.tasks:
            raise UnsupportedKindError(f"method {case.method!r} runs on {', '.join(self.method.tasks)} "
                                       "cases only (its TASKS), not on language models")
        self.channel = self.method.kind == "channel"
        if self.channel and case.pattern != UNSTRUCTURED:
            raise InvalidValueError(f"method {case.method!r} removes whole channels and heads; an "
                                    f"N:M pattern ({case.pattern}) is for mask methods")
        self.pattern = self._pattern()
        row["pattern"] = f"{self.pattern[0]}:{self.pattern[1]}" if self.pattern else UNSTRUCTURED
        self.calibration_kind = self.method.attributes.get("CALIBRATION")
        if self.calibration_kind not in CALIBRATIONS:
            raise InvalidValueError(f"method {case.method!r}: CALIBRATION must be one of "
                                    f"{CALIBRATIONS[1:]}, not {self.calibration_kind!r}")
        self.updates_weights = bool(self.method.attributes.get("UPDATES_WEIGHTS", False))
        row["updates_weights"] = self.updates_weights
        self.corpus = corpora.get(case.dataset)
        self.model: nn.Module | None = None
        self.masks: dict[str, torch.Tensor] = {}
        self.removed = False  # structures removed physically (channel methods)
        self.options: dict = {}
        row.update(epochs=[], train_steps=0, train_examples=0, prune_seconds=0.0, prune_steps=0,
                   pretrain_steps=0, resumed_rounds=0, finetune_recipe=None, recipe_key=None)
        row.update(dict.fromkeys(timing.COLUMNS, 0.0))

    def _pattern(self) -> tuple[int, int] | None:
        """The case's N:M pattern (or that of a KIND = 'nm' method), None when unstructured."""
        if self.case.pattern != UNSTRUCTURED:
            return parse_pattern(self.case.pattern)
        if self.method.kind == "nm":
            return self.method.attributes.get("N", 2), self.method.attributes.get("M", 4)
        return None

    def set_option(self, name: str, value: object) -> None:
        """Resolve a protocol option; the row keeps it."""
        self.options[name] = value
        self.row["protocol_options"] = json.dumps(self.options, sort_keys=True)

    # -- weights --------------------------------------------------------------------------------
    def load(self, weights: str = "trained", step: int | None = None) -> nn.Module:
        """A fresh copy of the pretrained model (loaded once per process); its dense figures
        (perplexity, counts) are computed once per (model, corpus, windows)."""
        if weights != "trained":
            raise UnsupportedKindError(f"language-model cases start from the pretrained model; "
                                       f"weights {weights!r} need a protocol with training")
        with timing.phase(self.row, "pretrain"):  # loading (and the first time, making) the model
            lm = self.language_model()
        self.lm = lm
        self.length = min(self.corpus.window, lm.context)
        root = self.env.zoo.data_root
        self.test = lm_windows.test_windows(self.case.dataset, self.length, lm.tokenizer,
                                            self.corpus.eval_windows, root)
        self.model = copy.deepcopy(lm.model).eval()  # on the device already, like the dense one
        self.row.update(pretrained_key=self.case.arch, pretrained_sha256=lm.sha256,
                        model_source=lm.source, window_length=self.length,
                        eval_sha256=lm_windows.fingerprint(self.test))
        key = f"lm:{lm.sha256}:{self.case.dataset}:{self.row['eval_sha256']}"
        if key not in self.env.dense:  # once per process: the dense counts, and its figures
            with timing.phase(self.row, "count"):
                self.env.task_state["profile", key] = dense_profile(lm.model, self.test)
            self.env.dense[key] = timing.add_seconds(self.row, dense_figures(
                lm.model, self.test, self.env.task_state["profile", key], self.env.zoo.root, key))
        self.dense_key = key
        self.row.update({k: v for k, v in self.env.dense[key].items() if k != "layers"})
        return self.model

    def language_model(self) -> LanguageModel:
        """The dense model of the case's arch, loaded once per process (never pruned)."""
        return dense_language_model(self.env, self.case.arch)

    # -- pruning --------------------------------------------------------------------------------
    def prune(self, ratio: float, control: str = "") -> dict[str, torch.Tensor]:
        """Masks keeping 1/ratio of the prunable weights (or the case's N:M pattern), from the
        method, block by block on calibration windows when it declares CALIBRATION."""
        if control:
            raise UnsupportedKindError(f"sanity control {control!r} is not built for language models")
        case, model = self.case, self.model
        if self.channel:
            return self._prune_structures(ratio)
        keep = 1.0 / ratio
        if self.pattern and abs(keep - self.pattern[0] / self.pattern[1]) > 1e-9:
            n, m = self.pattern
            raise InvalidValueError(f"pattern {n}:{m} keeps {n}/{m} of the weights, so its ratio "
                                    f"is {m / n:g}, not {ratio:g}; ask for ratio {m / n:g}")
        self.row["keep_fraction"] = keep
        if keep >= 1:
            self.row["keep_fraction_achieved"] = 1.0
            return self.masks
        started = time.perf_counter()
        prunable = prunable_linears(model)
        if self.pattern:  # a layer whose input dimension is not a multiple of M stays dense
            dense = sorted(n for n, p in prunable.items() if p.shape[1] % self.pattern[1])
            self.row["dense_layers"] = json.dumps(dense)
            prunable = {n: p for n, p in prunable.items() if n not in dense}
            if not prunable:
                raise InvalidValueError(f"no prunable layer's input dimension is a multiple of "
                                        f"{self.pattern[1]}: pattern {case.pattern} cannot apply")
        calib, generator = self._calibration()

        def prune_layers(names: list[str], inputs=None) -> None:
            chosen = {n: prunable[n] for n in names}
            ctx = PruneContext(model=model, compression=ratio, prunable=chosen, keep_fraction=keep,
                               batch=(calib, calib), loss_fn=None, generator=generator, classifier="",
                               masks={n: torch.ones_like(p, dtype=torch.bool) for n, p in chosen.items()},
                               target=Target(ratio), pattern=self.pattern, inputs=inputs)
            start = time.perf_counter()
            with torch.no_grad():
                masks = self.method.prune(model, ratio, ctx)
            self.row["prune_seconds"] += time.perf_counter() - start
            self.row["prune_steps"] += 1
            validate(masks, model, case.method, self.method.attributes.get("ALLOW_EMPTY_LAYERS", False))
            stray = sorted(set(masks) - set(chosen))
            if stray:
                raise InvalidValueError(f"method {case.method!r} returned masks for {stray[:3]}, which "
                                        "are not in ctx.prunable; mask only the layers it gives")
            _check_not_revived(masks, ctx.masks, case.method)
            if self.pattern:
                nm.validate(masks, *self.pattern, case.method)
            with torch.no_grad():
                for name, mask in masks.items():
                    chosen[name].mul_(mask.to(chosen[name].dtype))
            self.masks.update({n: m.to(self.env.device) for n, m in masks.items()})

        with self._prune_threads():
            if self.calibration_kind:
                modules = [n.removesuffix(".weight") for n in prunable]
                sequential(model, calib, modules,
                           lambda names, stats: prune_layers([f"{n}.weight" for n in names], stats),
                           gram=self.calibration_kind == "gram")
            else:
                prune_layers(list(prunable))
        self._check_changes(prunable)
        self.row["seconds_prune"] += time.perf_counter() - started
        return self.masks

    @contextlib.contextmanager
    def _prune_threads(self) -> Iterator[None]:
        """PRUNE_THREADS torch threads for the prune step (the same masks whatever
        --bench-threads or -n), on the row; the previous count restored after."""
        previous = torch.get_num_threads()
        torch.set_num_threads(PRUNE_THREADS)
        self.row["prune_threads"] = PRUNE_THREADS
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def _calibration(self) -> tuple[torch.Tensor, torch.Generator]:
        """The case's calibration windows (recorded on the row) and its seeded generator."""
        case = self.case
        calib = lm_windows.calibration(case.dataset, case.calibration_size, self.length, case.seed,
                                       self.lm.tokenizer, self.env.zoo.data_root)
        self.row.update(calibration_windows=calib.shape[0], calibration_length=calib.shape[1],
                        calibration_sha256=lm_windows.fingerprint(calib))
        return calib, torch.Generator(device=self.env.device).manual_seed(case.seed)

    def _prune_structures(self, ratio: float) -> dict[str, torch.Tensor]:
        """Remove MLP channels and key/value head groups physically until the model is `ratio` x
        smaller than the dense one in the case's target unit (no masks: the model is smaller)."""
        started = time.perf_counter()
        calib, generator = self._calibration()
        prunable = prunable_linears(self.model)
        total = sum(p.numel() for p in prunable.values())
        profile = self.env.task_state["profile", self.dense_key]
        with self._prune_threads():
            store = self.env.task_state.setdefault(  # shared by the cases of these windows
                ("calibration", self.dense_key, self.row["calibration_sha256"]), {})
            prune_structures(self.model, ratio, self.method, self.case, calib, generator,
                             self.env.dense[self.dense_key], profile.macs_other / self.length,
                             prunable, self.row, store)
        self.removed = True
        self.row["keep_fraction_achieved"] = sum(
            p.numel() for p in prunable_linears(self.model).values()) / total
        self.row["seconds_prune"] += time.perf_counter() - started
        return self.masks

    def _check_changes(self, prunable: dict[str, nn.Parameter]) -> None:
        """Nothing outside the pruned layers changed; a method that does not declare
        UPDATES_WEIGHTS left every kept weight as it was."""
        dense = self.lm.model.state_dict()
        for name, value in self.model.state_dict().items():
            if name in prunable:
                if self.updates_weights or name not in self.masks:
                    continue
                expected = dense[name].to(value.device) * self.masks[name]
            else:
                expected = dense[name].to(value.device)
            if not torch.equal(value, expected):
                raise MethodChangedModelError(
                    f"method {self.case.method!r} changed {name!r} of the model; a method returns "
                    "masks only, or declares UPDATES_WEIGHTS = True and changes only the weights "
                    "of ctx.prunable")
        total = sum(p.numel() for p in prunable.values())
        kept = sum(int(self.masks[n].sum()) if n in self.masks else p.numel()
                   for n, p in prunable.items())
        self.row["keep_fraction_achieved"] = kept / total

    @property
    def pruned(self) -> bool:
        """True when some weight is pruned or some structure removed."""
        return self.removed or not all(bool(m.all()) for m in self.masks.values())

    def finetune(self) -> None:
        """Nothing: language-model cases are not trained after pruning by default."""

    def recover(self, steps: int, batch: int, lr: float) -> None:
        """The pruned model's perplexity now (perplexity_unrecovered), then `steps` next-token
        training steps of `batch` windows of the corpus's training split (bench.lm.recovery)."""
        case, row = self.case, self.row
        with timing.phase(row, "eval"):
            row["perplexity_unrecovered"] = perplexity(self.model, self.test).value
        with timing.phase(row, "train"):
            windows = lm_windows.calibration(case.dataset, steps * batch, self.length, case.seed,
                                             self.lm.tokenizer, self.env.zoo.data_root)
            loss = recovery.recover(self.model, windows, steps, batch, lr, self.masks, case.seed)
        row.update(recovery_steps=steps, recovery_tokens=int(windows.numel()), train_steps=steps,
                   train_examples=int(windows.shape[0]), recovery_loss=loss)

    # -- measuring ------------------------------------------------------------------------------
    def measure(self) -> None:
        """Perplexity, counts, MACs per token and measured tokens per second, into the row."""
        env, row = self.env, self.row
        row["pruned_weights_zero"] = masks_hold(self.model, self.masks)
        row.update(timing.add_seconds(row, model_figures(
            self.model, self.test, self.masks, env.dense[self.dense_key],
            None if self.removed else env.task_state["profile", self.dense_key])))
        if self.removed:
            row["target_achieved"] = (row["compression"] if self.case.target == "params"
                                      else row["speedup_theoretical"])
        row["latency_parallel"] = env.parallel
        if env.measure_latency:
            with timing.phase(row, "latency"):
                row.update(tokens_per_second(self.lm.model, self.model, self.test[0], env.parallel,
                                             "dense" if self.removed else "dense-masked"))
            row["speedup_measured"] = row.get("speedup_measured_prefill")
            if row.get("speedup_measured") and row.get("speedup_theoretical"):
                row["realisation_gap"] = row["speedup_measured"] / row["speedup_theoretical"]
