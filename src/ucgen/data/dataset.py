"""The one in-memory image data set type that every data source returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ucgen.errors import DataError

if TYPE_CHECKING:  # torch loads in the functions that use it: data commands start at once
    import torch


@dataclass(frozen=True)
class ImageDataset:
    """Images as uint8 arrays in memory, with optional labels used only for evaluation.

    images: (N, H, W, C) uint8, C in {1, 3}.
    labels: (N,) int64 class ids or None; never seen by training.
    factors: named (N,) arrays of known generative factors (procedural data), else empty.
    factor_periods: for factors that wrap around (angles, hues), the period: values v and
    v + period draw the same image, so evaluations compare them on a circle.
    """

    images: np.ndarray
    labels: np.ndarray | None
    name: str
    class_names: tuple[str, ...] | None = None
    factors: dict[str, np.ndarray] = field(default_factory=dict)
    factor_periods: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        im = self.images
        if not isinstance(im, np.ndarray) or im.dtype != np.uint8:
            dtype = getattr(im, "dtype", type(im).__name__)
            raise DataError(f"{self.name}: images must be a uint8 array, got dtype {dtype}")
        if im.ndim != 4 or im.shape[-1] not in (1, 3):
            raise DataError(
                f"{self.name}: images must have shape (N, H, W, C) with C in {{1, 3}}, "
                f"got {im.shape}"
            )
        if len(im) == 0:
            raise DataError(f"{self.name}: the data set holds no images")
        if self.labels is not None:
            if self.labels.ndim != 1 or len(self.labels) != len(im):
                raise DataError(
                    f"{self.name}: {len(self.labels)} labels for {len(im)} images; "
                    "the counts must match"
                )
            object.__setattr__(self, "labels", self.labels.astype(np.int64, copy=False))
        for key, values in self.factors.items():
            if len(values) != len(im):
                raise DataError(
                    f"{self.name}: factor '{key}' has {len(values)} values for {len(im)} images"
                )
        for key, period in self.factor_periods.items():
            number = isinstance(period, (int, float)) and not isinstance(period, bool)
            if key not in self.factors or not (number and np.isfinite(period) and period > 0):
                raise DataError(
                    f"{self.name}: factor period '{key}' = {period!r} needs a factor of that "
                    "name and a finite period > 0"
                )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image, as the models see it."""
        _, h, w, c = self.images.shape
        return (c, h, w)

    @property
    def channels(self) -> int:
        return self.images.shape[-1]

    @property
    def resolution(self) -> int:
        return self.images.shape[1]

    @property
    def num_classes(self) -> int | None:
        if self.labels is None:
            return None
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.labels.max()) + 1

    @property
    def fingerprint(self) -> str:
        """Content hash of images and labels: names caches (reference networks, statistics)."""
        h = hashlib.sha256()
        h.update(repr(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        if self.labels is not None:
            h.update(np.ascontiguousarray(self.labels).tobytes())
        return h.hexdigest()[:16]

    def subset(self, index: np.ndarray | slice) -> ImageDataset:
        """A view on some of the images, labels and factors kept aligned."""
        return ImageDataset(
            images=self.images[index],
            labels=None if self.labels is None else self.labels[index],
            name=self.name,
            class_names=self.class_names,
            factors={k: v[index] for k, v in self.factors.items()},
            factor_periods=self.factor_periods,
        )

    def tensors(self) -> torch.Tensor:
        """All images as a float tensor (N, C, H, W) in [-1, 1]."""
        return to_model_range(self.images)


def check_labels(labels: np.ndarray, n_images: int, what: str) -> np.ndarray:
    """Labels read from a file: a 1-D integer array with one entry per image, as int64.

    what: names the labels in the message, e.g. "data.npz: 'labels'".
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{what} must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if len(labels) != n_images:
        raise DataError(
            f"{what}: {len(labels)} labels for {n_images} images; the counts must match"
        )
    return labels.astype(np.int64, copy=False)


def to_model_range(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) in [0, 255] -> float32 (N, C, H, W) in [-1, 1]."""
    import torch

    writable = np.require(images, requirements=["C", "W"])  # copies only read-only arrays
    x = torch.from_numpy(writable).permute(0, 3, 1, 2).float()
    return x.div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1] -> uint8 (N, H, W, C); values outside are clipped."""
    import torch

    x = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()
