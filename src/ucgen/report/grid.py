"""Pictures of images: grids and strips saved as PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from ucgen.io.atomic import atomic_write


def make_grid(
    images: np.ndarray, ncols: int | None = None, pad: int = 1, scale: int = 1
) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) uint8 image.

    ncols defaults to a near-square layout; `scale` enlarges each pixel (nearest neighbour),
    which keeps 8x8 or 16x16 images readable.
    """
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"make_grid needs (N, H, W, C) uint8, got {images.shape} {images.dtype}")
    n, h, w, c = images.shape
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = h * scale, w * scale
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = max(1, math.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def save_grid(
    images: np.ndarray, path: str | Path, ncols: int | None = None, scale: int | None = None
) -> Path:
    """Write a grid PNG of (N, H, W, C) uint8 images; small images are enlarged to >= 32 px."""
    if scale is None:
        scale = max(1, 32 // images.shape[1])
    grid = make_grid(images, ncols=ncols, scale=scale)
    pil = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    path = Path(path)
    atomic_write(path, lambda tmp: pil.save(tmp, format="PNG"))
    return path
