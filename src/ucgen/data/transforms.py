"""Resizing and channel handling shared by the data sources."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_images(images: np.ndarray, resolution: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, R, R, C) uint8 with a bicubic (antialiased) resize."""
    out = np.empty((len(images), resolution, resolution, images.shape[-1]), np.uint8)
    for i, im in enumerate(images):
        pil = Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im)
        arr = np.asarray(pil.resize((resolution, resolution), Image.Resampling.BICUBIC))
        out[i] = arr.reshape(resolution, resolution, -1)
    return out
