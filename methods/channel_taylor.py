"""Global channel pruning by first-order Taylor importance on the calibration batch.

Molchanov, Mallya, Tyree, Frosio, Kautz, "Importance Estimation for Neural Network
Pruning", CVPR 2019: (sum over a channel's filter of w * dL/dw)^2, model in eval mode.
The bench pools the scores over coupled layers and removes the channels physically.
On a language model: |w * dL/dw| summed over each MLP channel's and key/value head
group's coupled weights, L the next-token loss on the calibration windows.
"""

from bench import PruneContext
from bench.channels import taylor

KIND = "channel"
SCOPE = "global"


def prune(model, compression: float, ctx: PruneContext) -> dict:
    """One score per output channel of each prunable layer (higher = keep)."""
    return taylor(ctx)
