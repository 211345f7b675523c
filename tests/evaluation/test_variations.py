"""Variation metrics: a generator that ignores the condition loses the class, one that copies
the image has no novelty, and one that draws from the condition keeps the class and varies."""

from __future__ import annotations

import numpy as np
import torch

from ucgen.evaluation.variations import variation_metrics
from ucgen.models.condition import Condition

from .test_fine import PixelModel, PixelScorer


class IgnoringModel(PixelModel):
    """Renders a random code whatever the condition says."""

    def render(self, condition: Condition, n: int, seed: int = 0) -> np.ndarray:
        return super().render(self.conditions(n, seed), n, seed)


class CopyingModel:
    """The condition is the image itself; rendering returns it unchanged."""

    def encode(self, images: np.ndarray) -> Condition:
        return Condition(torch.as_tensor(images.reshape(len(images), -1).astype(np.float32)))

    def render(self, condition: Condition, n: int, seed: int = 0) -> np.ndarray:
        return condition.coarse.numpy().astype(np.uint8).reshape(n, 8, 8, 1)


def _real() -> tuple[np.ndarray, np.ndarray]:
    model = PixelModel(use_fine=True)
    cond = model.conditions(120, seed=99)
    return model.render(cond, 120, seed=99), cond.code.numpy()


def test_variations_keep_the_class_only_where_the_condition_is_used_and_differ_from_copies():
    real, labels = _real()
    scorer = PixelScorer()
    good = variation_metrics(PixelModel(use_fine=True), scorer, real, labels, n=50)
    ignoring = variation_metrics(IgnoringModel(use_fine=True), scorer, real, labels, n=50)
    copying = variation_metrics(CopyingModel(), scorer, real, labels, n=50)
    assert good["source_accuracy"] == 1.0
    assert good["class_retention"] >= 0.95 and good["novelty"] > 0.1
    assert ignoring["class_retention"] < 0.75
    assert copying["class_retention"] == 1.0 and copying["novelty"] == 0.0
    assert good["class_agreement"] >= 0.95 and ignoring["class_agreement"] < 0.75
    assert good["images"] == 50 and good["per_image"] == 4


def test_class_agreement_is_not_capped_by_the_classifier_s_errors_on_the_sources():
    real, labels = _real()
    wrong = labels.copy()
    wrong[::5] = (wrong[::5] + 1) % (wrong.max() + 1)  # the classifier errs on a fifth
    scorer = PixelScorer()
    copying = variation_metrics(CopyingModel(), scorer, real, wrong, n=50)
    good = variation_metrics(PixelModel(use_fine=True), scorer, real, wrong, n=50)
    ignoring = variation_metrics(IgnoringModel(use_fine=True), scorer, real, wrong, n=50)
    assert copying["source_accuracy"] == copying["class_retention"] == 0.8
    assert copying["class_agreement"] == 1.0
    assert good["class_agreement"] >= 0.95 and good["class_retention"] <= 0.85
    assert ignoring["class_agreement"] < 0.75
