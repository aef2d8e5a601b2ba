"""How torch-pruning prunes the option-A shortcut of the CIFAR ResNets (subsample, zero-pad).

The shortcut passes input channel i to output channel i + pad; the other outputs are zeros. Its
input and output channels are pruned independently, as for a 1x1-conv shortcut: an input channel
removed leaves a zero at its output position (it was removed: it contributes nothing), an output
channel removed stops passing its input channel on. Either way the physically pruned network
computes exactly what the dense one computes with the removed channels set to zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch_pruning as tp

from bench.models.cifar_resnet import ShortcutA


def _mapping(layer: ShortcutA) -> tuple[torch.Tensor, torch.Tensor]:
    """(src, dst): input channels passed on and their output positions."""
    if layer.src is not None:
        return layer.src, layer.dst
    src = torch.arange(layer.in_channels)
    return src, src + layer.pad


def _set(layer: ShortcutA, src: torch.Tensor, dst: torch.Tensor, device) -> None:
    layer.src, layer.dst = src.to(device), dst.to(device)


class ShortcutAPruner(tp.pruner.BasePruningFunc):
    """torch-pruning handler of ShortcutA: input and output channels pruned independently."""

    TARGET_MODULES = ShortcutA

    def prune_out_channels(self, layer: ShortcutA, idxs: Sequence[int]) -> ShortcutA:
        """Remove output positions `idxs`; their input channels are no longer passed on."""
        src, dst = _mapping(layer)
        removed = torch.tensor(sorted(idxs), dtype=torch.long, device=dst.device)
        keep = ~torch.isin(dst, removed)
        shift = torch.searchsorted(removed, dst[keep])  # removed positions below each kept one
        _set(layer, src[keep], dst[keep] - shift, dst.device)
        layer.out_channels -= len(idxs)
        return layer

    def prune_in_channels(self, layer: ShortcutA, idxs: Sequence[int]) -> ShortcutA:
        """Remove input channels `idxs`; their output positions become zeros."""
        src, dst = _mapping(layer)
        removed = torch.tensor(sorted(idxs), dtype=torch.long, device=src.device)
        keep = ~torch.isin(src, removed)
        shift = torch.searchsorted(removed, src[keep])
        _set(layer, src[keep] - shift, dst[keep], src.device)
        layer.in_channels -= len(idxs)
        return layer

    def get_out_channels(self, layer: ShortcutA) -> int:
        """Output channels of the shortcut."""
        return layer.out_channels

    def get_in_channels(self, layer: ShortcutA) -> int:
        """Input channels of the shortcut."""
        return layer.in_channels


CUSTOM_PRUNERS = {ShortcutA: ShortcutAPruner()}
