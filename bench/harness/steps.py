"""The vocabulary protocols are written in: weights, prune to a target, train, rewind, measure.

A `CaseRun` holds one case's model, current masks and row; each step records what it did, so a
failure keeps what was learnt and every training phase leaves its epochs and its cost."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import torch
from torch import nn

from bench import data, nm
from bench.context import build_context, keep_fraction, prunable_parameters
from bench.data.loaders import calibration_batch, make_loader
from bench.errors import BenchError
from bench.harness import controls, measure, targets, timing
from bench.harness import row as rows
from bench.harness.case import UNSTRUCTURED, Case, parse_pattern
from bench.harness.channels import prune_channels
from bench.harness.env import BenchEnv
from bench.masks import apply, enforcer, masks_hold, validate
from bench.metrics import semistructured
from bench.metrics.profile import profile
from bench.structured.search import COMPRESSION_TOLERANCE, channel_counts
from bench.training import recipes
from bench.training.loop import train
from bench.training.recipes import Recipe
from bench.training.zoo import PretrainedSpec


class MethodChangedModelError(BenchError, RuntimeError):
    """prune() changed the model's weights or buffers instead of only returning masks."""


class UnsupportedKindError(BenchError, NotImplementedError):
    """A step that a method of this KIND cannot take (e.g. rewinding physically removed channels)."""


class RevivedWeightsError(BenchError, ValueError):
    """A method kept weights that the current masks (ctx.masks) had already pruned."""


class CaseRun:
    """One case in progress: its recipes, data, weights, current masks and row."""

    def __init__(self, case: Case, env: BenchEnv, row: dict) -> None:
        self.case, self.env, self.row = case, env, row
        found = env.methods().get(case.method)
        row["method_hash"] = found.source_hash if found else None  # recorded even if it is broken
        self.method = env.method(case.method)
        row["method_kind"] = self.method.kind
        if "classification" not in self.method.tasks:
            raise UnsupportedKindError(f"method {case.method!r} runs on {', '.join(self.method.tasks)} "
                                       "cases only (its TASKS), not on image classification")
        self.nm: tuple[int, int] | None = None
        if case.pattern != UNSTRUCTURED:  # the case's pattern: the method must honour it
            self.nm = parse_pattern(case.pattern)
        elif self.method.kind == "nm":
            self.nm = (self.method.attributes.get("N", 2), self.method.attributes.get("M", 4))
            nm.check_pattern(*self.nm)
        if self.nm:
            row["nm_pattern"] = f"{self.nm[0]}:{self.nm[1]}"
        row["pattern"] = row.get("nm_pattern") or UNSTRUCTURED
        self.removed_channels = False  # set once a channel step removed some channel
        self.channels_dense: dict[str, tuple[int, int]] = {}
        self.ds = data.get(case.dataset)
        pre_name = case.pretrain or self.ds.pretrain_recipe_for(case.arch)
        ft_name = case.finetune or self.ds.finetune_recipe
        self.pretrain_recipe, self.finetune_recipe = recipes.get(pre_name), recipes.get(ft_name)
        row.update(pretrain_recipe=pre_name, finetune_recipe=ft_name,
                   pretrain_recipe_key=self.pretrain_recipe.key, recipe_key=self.finetune_recipe.key)
        self.train_set, self.test_set = data.load(case.dataset, env.zoo.data_root,
                                                  augment=self.finetune_recipe.augment)
        self.spec = PretrainedSpec(case.dataset, case.arch, self.pretrain_recipe, case.pretrain_seed)
        self.test_loader = make_loader(self.test_set, self.ds.eval_batch_size, shuffle=False)
        self.model: nn.Module | None = None
        self.masks: dict[str, torch.Tensor] = {}
        row.update(epochs=[], train_steps=0, train_examples=0, prune_seconds=0.0)
        row.update(dict.fromkeys(timing.COLUMNS, 0.0))  # seconds per phase (bench.harness.timing)
        row.update(pretrain_steps=0, prune_steps=0, resumed_rounds=0)
        self.options: dict = {}  # the protocol's options, resolved (set by run_case)
        self._train_sets = {self.finetune_recipe.augment: self.train_set}
        self._enforce: Callable[[], None] = _nothing

    def set_option(self, name: str, value: object) -> None:
        """Resolve a protocol option (e.g. a default that depends on the data); the row keeps it."""
        self.options[name] = value
        self.row["protocol_options"] = json.dumps(self.options, sort_keys=True)

    # -- weights --------------------------------------------------------------------------------
    def load(self, weights: str = "trained", step: int | None = None) -> nn.Module:
        """Put a fresh model with the named weights in place: 'trained' (the pretrained model),
        'initial' (its initialisation) or 'checkpoint' (after `step` steps of pretraining). The
        dense figures of the trained model are the reference of every row."""
        with timing.phase(self.row, "pretrain"):  # pretraining, or loading the cached weights
            pretrained = self.env.zoo.ensure(self.spec)
        self.pretrained = pretrained
        self.row.update(pretrained_key=pretrained.spec.key,
                        pretrained_sha256=pretrained.meta.get("sha256"))
        if weights == "trained":
            model = pretrained.build()
        elif weights == "initial":
            model = self.env.zoo.initial(self.spec)
        elif weights == "checkpoint":
            model = self.env.zoo.checkpoint(self.spec, int(step or 0)).build()
        else:
            raise ValueError(f"unknown weights {weights!r}: trained, initial or checkpoint")
        self.model = model.to(self.env.device)
        full = self.pretrain_recipe.epochs * self.steps_per_epoch(self.pretrain_recipe)
        used = {"trained": full, "checkpoint": int(step or 0)}
        self.row["pretrain_steps"] = max(self.row["pretrain_steps"], used.get(weights, 0))
        self._enforce = enforcer(self.model, self.masks) if self.masks else _nothing
        self.channels_dense = self.channels_dense or channel_counts(self.model)
        if self.spec.key not in self.env.dense:
            reference = self.model if weights == "trained" else pretrained.build().to(self.env.device)
            self.env.dense[self.spec.key] = timing.add_seconds(self.row, measure.dense_figures(
                reference, self.test_loader, self.env.device))
        self.row.update(self.env.dense[self.spec.key])
        return self.model

    def rewind(self, weights: str = "checkpoint", step: int | None = None) -> None:
        """Reset the surviving weights to earlier ones (the masks stay)."""
        if self.removed_channels:
            raise UnsupportedKindError(
                f"method {self.case.method!r} removed channels physically: its weights cannot be "
                "rewound to a dense checkpoint; use a protocol without rewinding (oneshot, scratch)")
        masks = self.masks
        self.load(weights, step)
        self._set_masks(masks)

    def snapshot(self) -> dict[str, torch.Tensor]:
        """The model's weights and the current masks, as one flat state dict (for the cache)."""
        state = {f"model/{k}": v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        return state | {f"mask/{k}": m.cpu() for k, m in self.masks.items()}

    def restore(self, state: dict[str, torch.Tensor]) -> None:
        """Put back a snapshot's weights and masks."""
        weights = {k[6:]: v for k, v in state.items() if k.startswith("model/")}
        self.model.load_state_dict(weights)
        self._set_masks({k[5:]: v.to(self.env.device) for k, v in state.items()
                         if k.startswith("mask/")})

    def _set_masks(self, masks: dict[str, torch.Tensor]) -> None:
        self.masks = masks
        apply(self.model, masks)
        self._enforce = enforcer(self.model, masks) if masks else _nothing

    def reinitialise(self) -> None:
        """Fresh random weights for the model as it stands (its pruned widths kept, its masks
        reapplied), from a seed other than pretraining's, one per case seed: PyTorch's default
        initialisation of every layer, then the architecture's own rule where it has one
        (`reset_weights`). The reinitialisation control of Frankle et al., and Liu et al.'s
        pruned architecture trained from scratch."""
        torch.manual_seed(controls.reinit_seed(self.case.seed, self.case.pretrain_seed))
        for module in self.model.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        if hasattr(self.model, "reset_weights"):
            self.model.reset_weights()
        self._set_masks(self.masks)
        self.row["reinitialised"] = True

    # -- pruning --------------------------------------------------------------------------------
    def prune(self, ratio: float, control: str = "") -> dict[str, torch.Tensor]:
        """Ask the method for masks reaching `ratio` given the current masks; pruned weights stay
        pruned. The masks are validated and applied; the method's time is recorded. `control`
        'invert' keeps the lowest-ranked weights instead, 'shuffle' permutes the resulting masks
        within each layer (Frankle et al. 2021). A channel method's channels are removed
        physically instead (the model is replaced, masks stay {})."""
        case = self.case
        started = time.perf_counter()
        torch.manual_seed(case.seed)
        batch = calibration_batch(self.train_set, case.calibration_size, case.seed)
        if self.method.kind == "channel":
            if control:
                raise UnsupportedKindError(
                    f"sanity control {control!r} shuffles or inverts masks, but method "
                    f"{case.method!r} removes channels physically; use it with a mask method")
            self.model = prune_channels(self, ratio, batch, _check_untouched)
            self.row["prune_steps"] += 1
            self.row["seconds_prune"] += time.perf_counter() - started
            return self.masks
        prunable = prunable_parameters(self.model, case.include_classifier)
        target = keep_fraction(self.model, prunable, ratio)
        ask = ratio
        if control == "invert":  # the method keeps alive - target; the rest of the alive is kept
            alive = self._alive(prunable)
            if alive - target <= 1e-12:
                return self.masks
            ask = self.ratio_for(alive - target)
        search = self._masks_for_macs if case.target == "macs" else self._masks
        masks = search(ask, batch)
        self.row["keep_fraction"] = target if control == "invert" else self._keep_fraction
        current = {n: self.masks.get(n, torch.ones_like(p, dtype=torch.bool))
                   for n, p in prunable.items()}
        if control == "invert":
            masks = {n: current[n] & ~masks[n] if n in masks else torch.zeros_like(current[n])
                     for n in prunable}
            validate(masks, self.model, case.method,
                     self.method.attributes.get("ALLOW_EMPTY_LAYERS", False))
        for name, old in self.masks.items():
            masks[name] = masks[name] & old if name in masks else old
        if control == "shuffle":
            masks = controls.shuffled(masks, case.seed)
        self._set_masks(masks)
        self.model.zero_grad(set_to_none=True)
        self.row["seconds_prune"] += time.perf_counter() - started
        return masks

    def _masks(self, ask: float, batch) -> dict[str, torch.Tensor]:
        """The method's masks at compression `ask` (in parameters), validated, on the device."""
        case, model = self.case, self.model
        ctx = build_context(model, ask, batch, case.seed, case.include_classifier,
                            masks=self.masks or None, unit=case.target)
        ctx.pattern = self.nm if case.pattern != UNSTRUCTURED else None
        self._keep_fraction = ctx.keep_fraction
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        start = time.perf_counter()
        masks = self.method.prune(model, ask, ctx)
        self.row["prune_seconds"] += time.perf_counter() - start
        self.row["prune_steps"] += 1
        _check_untouched(model, before, case.method)
        validate(masks, model, case.method, self.method.attributes.get("ALLOW_EMPTY_LAYERS", False))
        masks = {k: v.to(self.env.device) for k, v in masks.items()}
        _check_not_revived(masks, ctx.masks, case.method)
        if self.nm:
            nm.validate(masks, *self.nm, case.method)
        return masks

    def _masks_for_macs(self, ratio: float, batch) -> dict[str, torch.Tensor]:
        """Masks with `ratio` x fewer nonzero MACs than the dense model: the compression asked of
        the method is searched (bench.harness.targets)."""
        prof = profile(self.model, batch[0][:1].to(self.env.device))
        dense = self.env.dense[self.spec.key]
        old = self.masks

        def macs_of(masks: dict) -> float:
            combined = {k: (v.to(self.env.device) & old[k]) if k in old else v.to(self.env.device)
                        for k, v in masks.items()}
            return targets.mask_macs(prof.layers, {**old, **combined}, prof.macs_other)

        prunable = prunable_parameters(self.model, self.case.include_classifier)
        total = sum(p.numel() for p in self.model.parameters())
        fixed = total - sum(p.numel() for p in prunable.values())
        highest = total / max(fixed, 1) * (1 - 1e-6)
        masks, asked, reached = targets.search(lambda c: self._masks(c, batch), macs_of,
                                               dense["macs_dense"], ratio, highest)
        self._keep_fraction = keep_fraction(self.model, prunable, asked)
        self.row.update(target_achieved=reached, target_tolerance=COMPRESSION_TOLERANCE)
        return masks

    def _alive(self, prunable: dict[str, torch.Tensor]) -> float:
        """Fraction of the prunable weights that the current masks keep."""
        kept = sum(int(self.masks[n].sum()) if n in self.masks else p.numel()
                   for n, p in prunable.items())
        return kept / sum(p.numel() for p in prunable.values())

    def keep_for(self, ratio: float) -> float:
        """Fraction of the prunable weights kept at whole-model compression `ratio`."""
        return keep_fraction(self.model, prunable_parameters(self.model,
                                                             self.case.include_classifier), ratio)

    def ratio_for(self, keep: float) -> float:
        """The whole-model compression at which a fraction `keep` of the prunable weights stays
        (the inverse of keep_for)."""
        prunable = prunable_parameters(self.model, self.case.include_classifier)
        total = sum(p.numel() for p in self.model.parameters())
        size = sum(p.numel() for p in prunable.values())
        return total / (total - size + keep * size)

    @property
    def pruned(self) -> bool:
        """True when some weight is pruned."""
        return self.removed_channels or not all(bool(m.all()) for m in self.masks.values())

    # -- training -------------------------------------------------------------------------------
    def train(self, recipe: Recipe, phase: str, round_: int = 0, start_step: int = 0,
              every_step: Callable[[int], None] | None = None) -> None:
        """Train the model with `recipe` (from its step `start_step`), keeping pruned weights at
        zero; `every_step(n)` runs after the n-th step of the recipe (the masks it sets are kept
        from then on). Epochs and cost recorded."""
        split = self._train_set(recipe.augment)
        loader = make_loader(split, recipe.batch_size, shuffle=True, seed=self.case.seed)
        done = [start_step]

        def after_step() -> None:
            self._enforce()
            done[0] += 1
            if every_step is not None:
                every_step(done[0])

        with timing.phase(self.row, "train"):
            logs = train(self.model, loader, recipe, device=self.env.device, after_step=after_step,
                         seed=self.case.seed, start_step=start_step)
        self.row["epochs"] += rows.epoch_entries(logs, phase, round_)
        per_epoch = len(loader)
        skipped = (start_step // per_epoch) * len(split) + min(
            (start_step % per_epoch) * recipe.batch_size, len(split))
        self.row["train_steps"] += recipe.epochs * per_epoch - start_step
        self.row["train_examples"] += recipe.epochs * len(split) - skipped

    def finetune(self) -> None:
        """Finetune with the case's recipe (the one-shot protocol's step after pruning)."""
        self.train(self.finetune_recipe, phase="finetune")

    def steps_per_epoch(self, recipe: Recipe) -> int:
        """Optimizer steps in one epoch of `recipe` on this case's training split."""
        return -(-len(self.train_set) // recipe.batch_size)

    def _train_set(self, augment: bool):
        """The training split as `augment` asks (pretraining and finetuning recipes may differ)."""
        if augment not in self._train_sets:
            self._train_sets[augment] = data.load(self.case.dataset, self.env.zoo.data_root,
                                                  augment=augment)[0]
        return self._train_sets[augment]

    # -- measuring ------------------------------------------------------------------------------
    def measure(self) -> None:
        """Every figure of the model as it stands, into the row."""
        env, row = self.env, self.row
        row["pruned_weights_zero"] = masks_hold(self.model, self.masks)
        row.update(timing.add_seconds(row, measure.model_figures(
            self.model, self.test_loader, env.device, self.masks, env.dense[self.spec.key])))
        rows.add_channels(row["layers"], channel_counts(self.model), self.channels_dense)
        row["latency_parallel"] = env.parallel
        if env.measure_latency:
            backend = "dense" if self.method.kind == "channel" else "dense-masked"
            dense = env.dense_model(self.pretrained)
            with timing.phase(row, "latency"):
                row.update(measure.latencies(dense, self.model, self.ds.input_shape, env.parallel,
                                             backend))
                row.update(measure.realisation(row))
                if self.method.kind == "nm":
                    row.update(semistructured.latencies(dense, self.model, self.ds.input_shape,
                                                        env.parallel))


def _nothing() -> None:
    """No mask to enforce."""


def _check_not_revived(masks: dict[str, torch.Tensor], current: dict[str, torch.Tensor],
                       method: str) -> None:
    """Fail if the method keeps a weight that the current masks have pruned: the case would end
    below its target, and iterative protocols would silently lose weights."""
    for name, mask in masks.items():
        if name in current and bool((mask & ~current[name]).any()):
            raise RevivedWeightsError(
                f"method {method!r} keeps weights of {name!r} that ctx.masks already prunes; "
                "select among the weights still kept, e.g. score them with bench.scores, or set "
                "scores.masked_fill(~ctx.masks[name], -inf) before bench.select")


def _check_untouched(model: nn.Module, before: dict, method: str) -> None:
    """Fail if `prune` altered any weight or buffer (batch-norm statistics included: a forward
    pass in train mode would move them), since the bench applies the masks itself."""
    for name, value in model.state_dict().items():
        if not torch.equal(value, before[name]):
            raise MethodChangedModelError(
                f"method {method!r} changed {name!r} of the model in prune(); a method returns "
                "masks only (score in eval mode, or on a copy: copy.deepcopy(model))")
