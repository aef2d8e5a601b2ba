"""N:M magnitude pruning (2:4): keep the 2 largest |w| of every 4 consecutive input channels.

Mishra et al., "Accelerating Sparse Deep Neural Networks", arXiv 2104.08378, 2021 (NVIDIA's 2:4
sparsity for sparse tensor cores); Zhou et al., "Learning N:M Fine-grained Structured Sparse
Neural Networks From Scratch", ICLR 2021. Groups run along the input channels (a conv's
at each kernel position, as apex and cuSPARSELt); layers whose input channels are not a multiple
of M keep every weight. The pattern fixes the sparsity: the case's ratio is not used.
"""

from bench import PruneContext
from bench.nm import pattern_masks
from bench.scores import magnitude

KIND = "nm"
N, M = 2, 4


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """N:M masks along the input channels by weight magnitude."""
    return pattern_masks(magnitude(ctx), N, M)
