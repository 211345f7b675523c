"""scikit-learn's bundled 8x8 handwritten digits: real data that ships with a dependency."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ucgen.data.dataset import ImageDataset
from ucgen.data.registry import register
from ucgen.data.transforms import resize_images

TEST_FRACTION = 0.2
SPLIT_SEED = 0


@register("digits")
def load_digits(
    split: str = "train", resolution: int | None = None, root: str | Path | None = None
) -> ImageDataset:
    """1797 digits, 0..16 grey levels scaled to uint8; a fixed, seeded 80/20 train/test split."""
    from sklearn.datasets import load_digits as sk_load

    bunch = sk_load()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(images))
    n_test = round(len(images) * TEST_FRACTION)
    index = order[:n_test] if split == "test" else order[n_test:]
    images = images[np.sort(index)]
    labels = labels[np.sort(index)]
    if resolution is not None and resolution != images.shape[1]:
        images = resize_images(images, resolution)
    return ImageDataset(
        images=images,
        labels=labels,
        name="digits",
        class_names=tuple(str(i) for i in range(10)),
    )
