"""Structured pruning: whole channels removed physically with torch-pruning's DependencyGraph."""
