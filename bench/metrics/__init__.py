"""Metrics of a model as evaluated: size, MACs, latency (one module each)."""
