"""Variations of real images: what a condition keeps of the image it was encoded from.

`ucgen vary --image X` draws new images from the condition the encoder gives X (RCG's
"diversify real images"; CoFi's code and fine vector). Two figures say whether that works, and
neither can be passed by a generator that copies X or one that ignores the condition:

- class retention: the share of variations the reference classifier puts in the true class of
  their source image, beside the classifier's accuracy on the sources themselves (its ceiling);
- class agreement: the share it puts in the class it gives the source, which its own errors on
  the sources do not cap (a copy scores 1 whatever the classifier's accuracy);
- novelty: the feature distance of a variation to its source over the distance of the source
  to its nearest other real image (0: a copy; about 1 or more: as different as a neighbour).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from ucgen.evaluation.fine import Scorer
from ucgen.models.condition import Condition

VARIED_IMAGES = 100  # real test images varied
PER_IMAGE = 4  # variations of each


class VaryModel(Protocol):
    """What the metrics need of a trained model (`TrainedModel` implements it)."""

    def encode(self, images: np.ndarray) -> Condition: ...

    def render(self, condition: Condition | None, n: int, seed: int = 0) -> np.ndarray: ...


def variation_metrics(
    model: VaryModel,
    scorer: Scorer,
    real_images: np.ndarray,
    real_labels: np.ndarray,
    seed: int = 0,
    n: int = VARIED_IMAGES,
    per_image: int = PER_IMAGE,
) -> dict[str, Any]:
    """Vary the first n real images (N, H, W, C) uint8 per_image times each, from their own
    condition and new noise; class retention, agreement and novelty as described above."""
    sources = real_images[:n]
    own = model.encode(sources)
    repeated = torch.arange(len(sources)).repeat_interleave(per_image)
    varied = model.render(own.slice(repeated), len(repeated), seed=seed + 4000)
    labels = np.asarray(real_labels[: len(sources)])
    source_class = scorer.predict(sources)
    varied_class = scorer.predict(varied)
    kept = varied_class == labels[repeated.numpy()]
    agreed = varied_class == source_class[repeated.numpy()]
    real_f = np.asarray(scorer.features(real_images), np.float64)
    source_f, varied_f = real_f[: len(sources)], np.asarray(scorer.features(varied), np.float64)
    to_source = np.linalg.norm(varied_f - source_f[repeated.numpy()], axis=1)
    between = np.linalg.norm(source_f[:, None] - real_f[None], axis=2)
    between[np.arange(len(sources)), np.arange(len(sources))] = np.inf
    nearest = between.min(axis=1)
    return {
        "images": len(sources),
        "per_image": per_image,
        "class_retention": float(kept.mean()),
        "source_accuracy": float((source_class == labels).mean()),
        "class_agreement": float(agreed.mean()),
        "novelty": float((to_source / nearest[repeated.numpy()]).mean()),
    }


def format_variations(report: dict[str, Any]) -> str:
    """The printed line of a `variation_metrics` report."""
    return (
        f"variations     class kept {report['class_retention']:.4f} (the classifier on the "
        f"sources: {report['source_accuracy']:.4f}; agreeing with its class of the source "
        f"{report['class_agreement']:.4f}), novelty {report['novelty']:.3f} "
        f"({report['per_image']} of each of {report['images']} test images)"
    )
