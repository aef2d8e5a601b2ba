"""Datasets kept on the user's disk under the data root (torchvision formats)."""
