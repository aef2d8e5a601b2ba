"""Metrics of a model as evaluated: size, MACs, activations (one profiling pass), latency."""
