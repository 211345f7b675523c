"""Sampling pipelines: conditions in, images out (no training, no weights of their own)."""
