"""Evaluation with labels: reference network, generation, clustering and control metrics."""
