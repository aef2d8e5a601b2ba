"""prunebench: a pytest-style benchmark for neural-network pruning methods."""

from bench.context import PruneContext

__all__ = ["PruneContext"]
__version__ = "0.1.0"
