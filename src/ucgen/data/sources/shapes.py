"""Procedural shapes with known factors: the test bed where the truth is known.

Coarse factor (the label): shape, one of circle, square, triangle, cross.
Fine factors, each drawn uniformly and independently of the shape and of each other:
- `x`, `y`: centre position in [0, 1], mapped inside a margin so the shape is never cut off;
- `size`: circumradius as a fraction of the image side, in [0.22, 0.36];
- `rotation`: angle in radians in [0, pi/2) (a circle looks the same at every angle);
- `hue`: colour hue in [0, 1); the colour is HSV(hue, 0.85, 1.0) as RGB on a black ground.

Both of the last wrap around (`PERIODS`): hue 0.99 is the red of hue 0, and a square or cross
turned by nearly pi/2 is the unturned one (the triangle's range, less than its 2 pi/3 period,
maps one-to-one onto the circle), so evaluations compare them on a circle.

Images are rendered at the requested resolution directly (2x2 supersampled for smooth
edges), never resized, so shapes stay distinct even at 16x16. The train and test splits come
from different seeds, so they share no image, and the same split is byte-identical every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ucgen.data.dataset import ImageDataset
from ucgen.data.registry import Split, register

CLASS_NAMES = ("circle", "square", "triangle", "cross")
SIZES = {"train": 4000, "test": 1000}
SEEDS = {"train": 0, "test": 1}
DEFAULT_RESOLUTION = 32
SIZE_RANGE = (0.22, 0.36)
SATURATION, VALUE = 0.85, 1.0
PERIODS = {"rotation": np.pi / 2, "hue": 1.0}
SUPERSAMPLE = 2
ARM, REACH = 0.28, 0.95
CHUNK = 500  # images rendered at once: bounds the temporary (CHUNK, R*2, R*2) arrays


@register("shapes")
def load_shapes(
    split: Split = "train", resolution: int | None = None, root: str | Path | None = None
) -> ImageDataset:
    """4000 train / 1000 test RGB shapes at `resolution` (default 32); `root` is unused."""
    return make_shapes(SIZES[split], resolution or DEFAULT_RESOLUTION, seed=SEEDS[split])


def make_shapes(n: int, resolution: int, seed: int) -> ImageDataset:
    """n shapes of resolution x resolution pixels, deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, len(CLASS_NAMES), n)
    x, y = rng.random(n), rng.random(n)
    size = rng.uniform(*SIZE_RANGE, n)
    rotation = rng.uniform(0.0, np.pi / 2, n)
    hue = rng.random(n)
    factors = {"x": x, "y": y, "size": size, "rotation": rotation, "hue": hue}
    masks = shape_masks(shape, factors, resolution)
    colour = _hsv_to_rgb(hue, SATURATION, VALUE)  # (n, 3) in [0, 1]
    images = np.round(masks[..., None] * colour[:, None, None, :] * 255).astype(np.uint8)
    return ImageDataset(
        images=images,
        labels=shape.astype(np.int64),
        name="shapes",
        class_names=CLASS_NAMES,
        factors=factors,
        factor_periods=PERIODS,
    )


def shape_masks(shape: np.ndarray, factors: dict[str, np.ndarray], resolution: int) -> np.ndarray:
    """Coverage masks (n, R, R) float32 in [0, 1] of shapes `shape` (n,) posed by `factors`.

    The images of `make_shapes` are these masks times their colour; tests (and evaluations)
    can render any shape at any image's pose, e.g. to ask how much two shapes overlap.
    """
    size = factors["size"]
    # The centre keeps the whole circumscribed circle (plus half a pixel) inside the image.
    margin = size + 0.5 / resolution
    cx = margin + factors["x"] * (1 - 2 * margin)
    cy = margin + factors["y"] * (1 - 2 * margin)
    rotation = factors["rotation"]
    masks = np.empty((len(shape), resolution, resolution), np.float32)
    # Render each kind on its own images only, in chunks that bound the temporary arrays.
    for kind in range(len(CLASS_NAMES)):
        index = np.flatnonzero(shape == kind)
        for part in np.array_split(index, max(1, -(-len(index) // CHUNK))):
            masks[part] = _render(kind, cx[part], cy[part], size[part], rotation[part], resolution)
    return masks


def _render(
    kind: int,
    cx: np.ndarray,
    cy: np.ndarray,
    size: np.ndarray,
    rotation: np.ndarray,
    resolution: int,
) -> np.ndarray:
    """Coverage in [0, 1], (n, R, R): an inside-test on a supersampled grid, box-averaged."""
    s = resolution * SUPERSAMPLE
    grid = (np.arange(s, dtype=np.float32) + 0.5) / s  # pixel centres in [0, 1]
    dx = grid[None, None, :] - cx[:, None, None].astype(np.float32)
    dy = grid[None, :, None] - cy[:, None, None].astype(np.float32)
    cos = np.cos(rotation)[:, None, None].astype(np.float32)
    sin = np.sin(rotation)[:, None, None].astype(np.float32)
    r = size[:, None, None].astype(np.float32)
    # Rotated coordinates in units of the circumradius: the shape's own frame.
    u = (cos * dx + sin * dy) / r
    v = (-sin * dx + cos * dy) / r
    if kind == 0:  # circle
        inside = u * u + v * v <= 0.85**2
    elif kind == 1:  # square
        inside = np.maximum(np.abs(u), np.abs(v)) <= 0.68
    elif kind == 2:  # equilateral triangle of circumradius 1: three half-planes at inradius 0.5
        inside = (-v <= 0.5) & (0.866 * u + 0.5 * v <= 0.5) & (-0.866 * u + 0.5 * v <= 0.5)
    else:  # cross: two bars of half-width ARM and half-length REACH
        au, av = np.abs(u), np.abs(v)
        inside = ((au <= ARM) & (av <= REACH)) | ((av <= ARM) & (au <= REACH))
    f = SUPERSAMPLE
    return inside.reshape(len(cx), resolution, f, resolution, f).mean(axis=(2, 4))


def _hsv_to_rgb(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """Vectorised HSV -> RGB for hues in [0, 1); returns (n, 3) in [0, 1]."""
    k = (np.array([5.0, 3.0, 1.0])[None, :] + h[:, None] * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)
