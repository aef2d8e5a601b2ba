"""The coupled structures of a causal LM's blocks that channel pruning removes whole: the MLP's
intermediate channels (the up/gate rows with the down projection's column) and attention heads by
key/value group (the query heads of a group with their key and value head and the output
projection's columns, as grouped-query attention requires).

Three block families are known, each by the names of its layers: LLaMA-style (Llama, Mistral,
Qwen2, SmolLM: q/k/v/o_proj, gate/up/down_proj), GPT-2 (attn.c_attn fused q|k|v, attn.c_proj,
mlp.c_fc, mlp.c_proj; its Conv1D made nn.Linear on load) and OPT (self_attn.q/k/v/out_proj,
fc1, fc2). torch-pruning's dependency graph cannot trace the head reshapes of these blocks, so
the coupling is written down here, per family, and checked against the model by a test per family.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from bench.errors import BenchError
from bench.lm.models import blocks

MLP, HEADS = "mlp", "heads"
FAMILIES = "LLaMA-style (Llama, Mistral, Qwen2, SmolLM), GPT-2 and OPT"


class UnknownBlockError(BenchError, ValueError):
    """A transformer block whose layers channel pruning does not know how to couple."""


@dataclass
class Structure:
    """One prunable structure of a block: `units` channels (MLP) or key/value groups (heads), and
    for every weight it spans, the dimension (0: rows, 1: columns) and the indices of each unit."""

    name: str  # module name of the MLP or attention module (for OPT's MLP: the block)
    kind: str  # MLP or HEADS
    units: int
    members: dict[str, tuple[int, Tensor]] = field(default_factory=dict)  # weight -> (dim, (units, width))
    attention: str = ""  # the attention module whose head counts change (HEADS only)
    head_dim: int = 0
    heads_per_unit: int = 1  # query heads per key/value group

    def params_per_unit(self, model: nn.Module) -> int:
        """Parameters removed with one unit: its rows and columns, and the biases of its rows."""
        modules = dict(model.named_modules())
        total = 0
        for weight, (dim, idx) in self.members.items():
            layer = modules[weight.removesuffix(".weight")]
            width = idx.shape[1]
            total += width * layer.weight.shape[1 - dim]
            if dim == 0 and layer.bias is not None:
                total += width
        return total


def _span(units: int, width: int, offset: int = 0) -> Tensor:
    """Indices (units, width): unit u covers offset + [u * width, (u + 1) * width)."""
    return offset + torch.arange(units * width).reshape(units, width)


def _named(module: nn.Module, *names: str) -> bool:
    return all(isinstance(getattr(module, n, None), nn.Linear) for n in names)


def structures(model: nn.Module) -> list[Structure]:
    """Every structure of every block, in block order (attention before MLP)."""
    prefix, layers = blocks(model)
    out = []
    for index, block in enumerate(layers):
        where = f"{prefix}.{index}"
        attention, mlp = _attention(block, where), _mlp(block, where)
        if attention is None or mlp is None:
            raise UnknownBlockError(
                f"{where} ({type(block).__name__}): channel pruning couples the layers of "
                f"{FAMILIES} blocks, and this block's {'attention' if attention is None else 'MLP'} "
                "is none of them; prune it with a mask method (wanda, sparsegpt ...) instead")
        out += [attention, mlp]
    return out


def _attention(block: nn.Module, where: str) -> Structure | None:
    """The key/value head groups of the block's attention, or None when its layout is unknown."""
    for attr in ("self_attn", "attn"):
        attn = getattr(block, attr, None)
        name = f"{where}.{attr}"
        if attn is None:
            continue
        if _named(attn, "q_proj", "k_proj", "v_proj") and (_named(attn, "o_proj")
                                                           or _named(attn, "out_proj")):
            out_proj = "o_proj" if _named(attn, "o_proj") else "out_proj"
            head_dim = int(attn.head_dim)
            kv_heads = attn.k_proj.out_features // head_dim
            per = attn.q_proj.out_features // head_dim // kv_heads
            q = _span(kv_heads, per * head_dim)
            kv = _span(kv_heads, head_dim)
            members = {f"{name}.q_proj.weight": (0, q), f"{name}.k_proj.weight": (0, kv),
                       f"{name}.v_proj.weight": (0, kv), f"{name}.{out_proj}.weight": (1, q)}
            return Structure(name, HEADS, kv_heads, members, name, head_dim, per)
        if _named(attn, "c_attn", "c_proj") and hasattr(attn, "split_size"):
            width = int(attn.split_size)
            head_dim = int(attn.head_dim)
            heads = width // head_dim
            fused = torch.cat([_span(heads, head_dim, k * width) for k in range(3)], dim=1)
            members = {f"{name}.c_attn.weight": (0, fused),
                       f"{name}.c_proj.weight": (1, _span(heads, head_dim))}
            return Structure(name, HEADS, heads, members, name, head_dim, 1)
    return None


def _mlp(block: nn.Module, where: str) -> Structure | None:
    """The intermediate channels of the block's MLP, or None when its layout is unknown."""
    mlp = getattr(block, "mlp", None)
    if mlp is not None and _named(mlp, "gate_proj", "up_proj", "down_proj"):
        units = mlp.up_proj.out_features
        rows, cols = _span(units, 1), _span(units, 1)
        return Structure(f"{where}.mlp", MLP, units, {
            f"{where}.mlp.gate_proj.weight": (0, rows), f"{where}.mlp.up_proj.weight": (0, rows),
            f"{where}.mlp.down_proj.weight": (1, cols)})
    if mlp is not None and _named(mlp, "c_fc", "c_proj"):
        units = mlp.c_fc.out_features
        return Structure(f"{where}.mlp", MLP, units, {
            f"{where}.mlp.c_fc.weight": (0, _span(units, 1)),
            f"{where}.mlp.c_proj.weight": (1, _span(units, 1))})
    if _named(block, "fc1", "fc2"):
        units = block.fc1.out_features
        return Structure(where, MLP, units, {f"{where}.fc1.weight": (0, _span(units, 1)),
                                             f"{where}.fc2.weight": (1, _span(units, 1))})
    return None


def pooled(found: list[Structure], scores: dict[str, Tensor]) -> dict[str, Tensor]:
    """Per structure, each unit's sum of the element scores (weight name -> tensor of the weight's
    shape) over its rows and columns in every scored weight: e.g. squared weights give the
    squared L2 norm of each coupled group. Structures with no scored weight are left out."""
    out = {}
    for s in found:
        total, scored = torch.zeros(s.units, dtype=torch.float64), False
        for weight, (dim, idx) in s.members.items():
            if weight in scores:
                lines = scores[weight].detach().to("cpu", torch.float64).sum(1 - dim)
                total += lines[idx].sum(1)
                scored = True
        if scored:
            out[s.name] = total
    return out
