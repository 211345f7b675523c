"""Pictures of a report that need the trained model, as plain arrays.

The report package renders the files of a run folder and never imports a method or the
application layer; the caller that can load the model (the `ucgen report` command) draws
these and hands them to `write_report`. Every image array is (N, H, W, C) uint8.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ucgen.report.grid import make_grid


@dataclass
class CodeRow:
    """One code (or cluster): how many real images the encoder puts in it (None for a model
    without an encoder), some of them, and images generated for it."""

    code: int
    size: int | None
    real: np.ndarray
    generated: np.ndarray


@dataclass
class Strip:
    """A row of images that shows one control: a fine direction moved from -span to +span
    standard deviations, a bit flip (`images` then holds the before row, then the after
    row, `columns` wide), a real image followed by variations of it, or an interpolation
    between two real images' conditions."""

    code: int
    label: str
    images: np.ndarray
    columns: int
    direction: int | None = None
    bit: int | None = None


@dataclass
class ModelPictures:
    """Everything the report shows of the model itself. `counted_on` says which real images
    the code sizes count (e.g. "359 test images"); `samples` stands in for the per-code rows
    of a model without codes; `bits` is K where codes are K-bit codes (0 otherwise), so that
    a code can be shown with its bits."""

    counted_on: str
    bits: int = 0
    codes: list[CodeRow] = field(default_factory=list)
    samples: np.ndarray | None = None
    traversals: list[Strip] = field(default_factory=list)
    flips: list[Strip] = field(default_factory=list)
    variations: list[Strip] = field(default_factory=list)
    interpolations: list[Strip] = field(default_factory=list)
    span: float = 2.0


def png_data_uri(images: np.ndarray, columns: int | None = None, scale: int | None = None) -> str:
    """A grid of images as a `data:image/png;base64,...` URI, so that a page holding it needs
    no other file; small images are enlarged to >= 32 px like save_grid's."""
    if scale is None:
        scale = max(1, 32 // images.shape[1])
    grid = make_grid(images, ncols=columns, scale=scale)
    buffer = io.BytesIO()
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
