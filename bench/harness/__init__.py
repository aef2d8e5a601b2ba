"""The harness: a case and its identity, the protocols that run it, its row, the grid and the checks."""
