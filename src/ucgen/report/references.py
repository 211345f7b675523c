"""Reference points for a run's headline figures: what real images and trivial generators
score on the same features (docs/evaluation.md, "Reference figures", made by
bench/reference_figures.py). They apply only to an evaluation on the very features they were
measured on, so they are keyed by the feature network's name as eval.json states it."""

from __future__ import annotations

# features name -> reference row -> headline id -> value
REFERENCES: dict[str, dict[str, dict[str, float]]] = {
    "reference-cnn-v1 (digits, 8px, 128-d)": {
        "floor (real images)": {"fd": 6.41, "precision": 0.969, "recall": 0.944, "control": 1.0},
        "class Gaussian": {"fd": 28.5, "precision": 0.959, "recall": 0.830, "control": 0.983},
        "pixel Gaussian": {"fd": 359.4, "precision": 0.817, "recall": 0.329},
    },
    "reference-cnn-v1 (fashion-mnist, 28px, 128-d)": {
        "floor (real images)": {"fd": 0.223, "precision": 0.947, "recall": 0.943, "control": 0.937},
        "class Gaussian": {"fd": 40.9, "precision": 0.885, "recall": 0.291, "control": 0.909},
        "pixel Gaussian": {"fd": 349.7, "precision": 0.757, "recall": 0.0},
    },
}
