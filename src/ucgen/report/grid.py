"""Pictures of images: grids and strips saved as PNG or JPEG, the format the file's suffix names."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from ucgen.io.atomic import atomic_write
from ucgen.io.outputs import check_output

# The picture formats a file suffix may name (lower case), as Pillow calls them.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


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


def check_picture_target(path: str | Path) -> Path:
    """Refuse, before any work, a picture target that save_grid would refuse: a suffix that
    names no known format (.png, .jpg, .jpeg, any case), or a target `check_output` refuses.
    Returns `path` as given, as a Path: its suffix, not a symlink target's, names the format."""
    check_output(path, tuple(FORMATS), "a picture")
    return Path(path)


def save_grid(
    images: np.ndarray, path: str | Path, ncols: int | None = None, scale: int | None = None
) -> Path:
    """Write a grid of (N, H, W, C) uint8 images as PNG or JPEG (by the suffix of `path`);
    small images are enlarged to >= 32 px. JPEG has no alpha: it is dropped."""
    path = check_picture_target(path)
    if scale is None:
        scale = max(1, 32 // images.shape[1])
    grid = make_grid(images, ncols=ncols, scale=scale)
    pil = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "JPEG":
        pil = pil.convert("L" if pil.mode in ("L", "LA") else "RGB")
    options = {"quality": 95} if fmt == "JPEG" else {}
    atomic_write(path, lambda tmp: pil.save(tmp, format=fmt, **options))
    return path
