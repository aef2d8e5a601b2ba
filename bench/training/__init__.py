"""Training: recipes, the one training loop and evaluation, and the pretrained-weights zoo."""
