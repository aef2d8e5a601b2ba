"""One benchmark case: pretrained model -> method's masks -> finetune -> metrics, as one row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from bench import data, recipes
from bench.context import build_context
from bench.data.loaders import calibration_batch, make_loader
from bench.masks import apply, enforcer, masks_hold, validate
from bench.methods import BrokenMethodError, Method, discover
from bench.metrics import latency as latency_metric
from bench.metrics.profile import profile as layer_profile
from bench.metrics.size import compression, count_params
from bench.train import Evaluation, evaluate, train
from bench.zoo import Pretrained, PretrainedSpec, Zoo


@dataclass(frozen=True)
class Case:
    """The coordinates of one case; everything else is held fixed by the bench."""

    method: str
    dataset: str
    arch: str
    ratio: float
    seed: int = 0
    pretrain: str = ""  # pretraining recipe name; empty: the dataset's default
    finetune: str = ""  # finetuning recipe name; empty: the dataset's default
    pretrain_seed: int = 0  # seed of the pretrained weights (a confounder when varied)
    include_classifier: bool = False
    calibration_size: int = 128

    @property
    def id(self) -> str:
        """Test id: method-dataset-arch-ratio-seed, plus any non-default condition."""
        parts = [self.method, self.dataset, self.arch, f"r{self.ratio:g}", f"s{self.seed}"]
        if self.pretrain:
            parts.append(f"pre={self.pretrain}")
        if self.finetune:
            parts.append(f"ft={self.finetune}")
        if self.pretrain_seed:
            parts.append(f"ps{self.pretrain_seed}")
        return "-".join(parts)

    def __str__(self) -> str:
        return self.id


@dataclass
class BenchEnv:
    """Per-process state shared by the cases: the zoo, the methods and cached dense figures."""

    zoo: Zoo
    methods_dir: str | None = None
    device: str = "cpu"
    measure_latency: bool = True
    parallel: bool = False  # other workers running: latency is flagged as taken under load
    _methods: dict[str, Method] | None = None
    _dense: dict[str, dict] = field(default_factory=dict)
    _dense_models: dict[str, nn.Module] = field(default_factory=dict)

    def dense_model(self, pretrained: Pretrained) -> nn.Module:
        """The dense pretrained model on the bench device, built once per process and key
        (a reference for latency: never pruned or trained)."""
        key = pretrained.spec.key
        if key not in self._dense_models:
            self._dense_models[key] = pretrained.build().to(self.device).eval()
        return self._dense_models[key]

    def methods(self) -> dict[str, Method]:
        """Methods discovered once per process."""
        if self._methods is None:
            self._methods = discover(self.methods_dir)
        return self._methods

    def method(self, name: str) -> Method:
        """A loaded method, or an error carrying why it is broken."""
        found = self.methods()
        if name not in found:
            raise KeyError(f"unknown method {name!r}; valid names: {', '.join(sorted(found))}")
        method = found[name]
        if not method.ok:
            raise BrokenMethodError(f"method {name!r} is broken: {method.error}")
        return method


def run_case(case: Case, env: BenchEnv, row: dict) -> dict:
    """Run `case`, filling `row` as it goes (so a failure keeps what was learnt), and return it."""
    row.update(asdict(case), case_id=case.id)
    found = env.methods().get(case.method)
    row["method_hash"] = found.source_hash if found else None  # recorded even if it is broken
    method = env.method(case.method)
    ds = data.get(case.dataset)
    pre_name = case.pretrain or ds.pretrain_recipe_for(case.arch)
    pre_recipe = recipes.get(pre_name)
    ft_recipe = recipes.get(case.finetune or ds.finetune_recipe)
    row.update(pretrain_recipe=pre_name,
               finetune_recipe=case.finetune or ds.finetune_recipe,
               pretrain_recipe_key=pre_recipe.key, recipe_key=ft_recipe.key)
    train_set, test_set = data.load(case.dataset, env.zoo.data_root, augment=ft_recipe.augment)
    pretrained = env.zoo.get(PretrainedSpec(case.dataset, case.arch, pre_recipe, case.pretrain_seed))
    row["pretrained_key"] = pretrained.spec.key
    test_loader = make_loader(test_set, ds.eval_batch_size, shuffle=False)
    model = pretrained.build().to(env.device)
    row.update(_dense_figures(env, pretrained.spec.key, model, test_loader, ds))

    torch.manual_seed(case.seed)
    batch = calibration_batch(train_set, case.calibration_size, case.seed)
    ctx = build_context(model, case.ratio, batch, case.seed, case.include_classifier)
    row["keep_fraction"] = ctx.keep_fraction
    masks = method.prune(model, case.ratio, ctx)
    _check_untouched(model, pretrained.state_dict, case.method)
    validate(masks, model, case.method, method.attributes.get("ALLOW_EMPTY_LAYERS", False))
    masks = {k: v.to(env.device) for k, v in masks.items()}
    apply(model, masks)
    model.zero_grad(set_to_none=True)

    row["epochs"] = []
    if not all(bool(m.all()) for m in masks.values()):  # nothing pruned: the dense model as is
        loader = make_loader(train_set, ft_recipe.batch_size, shuffle=True, seed=case.seed)
        logs = train(model, loader, ft_recipe, device=env.device,
                     after_step=enforcer(model, masks), seed=case.seed)
        row["epochs"] = [asdict(log) for log in logs]
    result = evaluate(model, test_loader, env.device)
    row["pruned_weights_zero"] = masks_hold(model, masks)
    row.update(_model_figures(env, model, result, ds, masks, test_loader))
    if env.measure_latency:
        row.update(_latencies(env, env.dense_model(pretrained), model, ds))
    row.update(latency_metric.speedups(row))
    return row


class MethodChangedModelError(RuntimeError):
    """prune() changed the model's weights or buffers instead of only returning masks."""


def _check_untouched(model, reference: dict, method: str) -> None:
    """Fail if `prune` altered any weight or buffer (batch-norm statistics included: a forward
    pass in train mode would move them), since the bench applies the masks itself."""
    for name, value in model.state_dict().items():
        if not torch.equal(value.detach().cpu(), reference[name]):
            raise MethodChangedModelError(
                f"method {method!r} changed {name!r} of the model in prune(); a method returns "
                "masks only (score in eval mode, or on a copy: copy.deepcopy(model))")


def _dense_figures(env: BenchEnv, key: str, model, test_loader, ds) -> dict:
    """Accuracy, size and MACs of the dense pretrained model, once per process and key."""
    if key not in env._dense:
        result = evaluate(model, test_loader, env.device)
        params, _ = count_params(model)
        figures = {"top1_dense": result.top1, "top5_dense": result.top5, "params_dense": params,
                   "macs_dense": layer_profile(model, _sample(test_loader, env.device)).macs_total}
        env._dense[key] = figures
    return dict(env._dense[key])


def _model_figures(env: BenchEnv, model, result: Evaluation, ds, masks, test_loader) -> dict:
    """Every metric of the model as evaluated: accuracy, size, MACs, activations and latency."""
    total, nonzero = count_params(model)
    prof = layer_profile(model, _sample(test_loader, env.device))
    figures = {
        "top1": result.top1, "top5": result.top5, "loss": result.loss,
        "eval_examples": result.examples,
        "params_total": total, "params_nonzero": nonzero,
        "compression": compression(total, nonzero), "sparsity": 1 - nonzero / total,
        "macs_total": prof.macs_total, "macs_nonzero": prof.macs_nonzero,
        "macs_other": prof.macs_other,
        "speedup_theoretical": (prof.macs_total / prof.macs_nonzero if prof.macs_nonzero
                                else float("inf")),
        "activations_total": prof.activations_total,
        "activations_nonzero": prof.activations_nonzero,
        "layers": [asdict(c) | {"sparsity": c.sparsity, "pruned": f"{c.name}.weight" in masks}
                   for c in prof.layers],
        "device": str(env.device), "threads": torch.get_num_threads(),
        "latency_parallel": env.parallel,
    }
    return figures


ACTIVATION_EXAMPLES = 64  # evaluation inputs over which nonzero activations are averaged


def _sample(test_loader, device) -> torch.Tensor:
    """The first evaluation inputs (a fixed batch: the loader does not shuffle)."""
    x, _ = next(iter(test_loader))
    return x[:ACTIVATION_EXAMPLES].to(device)


def _latencies(env: BenchEnv, dense, pruned, ds) -> dict:
    """Latency of the dense and the pruned model, timed alternately so that both see the same
    load, at batch 1 and at the evaluation batch size (`latency[_dense][_batch]_*` fields)."""
    out = {"latency_batch_size": ds.eval_batch_size}
    for batch, suffix in ((1, ""), (ds.eval_batch_size, "_batch")):
        d, p = latency_metric.measure_alternating([dense, pruned], ds.input_shape, batch,
                                                  env.parallel)
        out |= (latency_metric.figures(d, f"latency_dense{suffix}")
                | latency_metric.figures(p, f"latency{suffix}"))
    return out
