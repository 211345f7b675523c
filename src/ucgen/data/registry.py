"""Name -> data source, and `load_dataset`, the one entry point for every image source.

A *spec* is either a registered name (`digits`, `shapes`, `fashion-mnist`, ...) or a path
(a folder of images, an `.npz` file, ...). Every source returns an `ImageDataset`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from ucgen.data.dataset import ImageDataset
from ucgen.errors import DataError

Split = Literal["train", "test"]
SourceFn = Callable[..., ImageDataset]

SOURCES: dict[str, SourceFn] = {}


def register(name: str) -> Callable[[SourceFn], SourceFn]:
    """Register a named source: fn(split, resolution, root) -> ImageDataset."""

    def wrap(fn: SourceFn) -> SourceFn:
        SOURCES[name] = fn
        return fn

    return wrap


def load_dataset(
    spec: str,
    split: Split = "train",
    resolution: int | None = None,
    root: str | Path | None = None,
) -> ImageDataset:
    """Load a data set by name or path.

    resolution: resize images to this square size (None keeps the source's own size).
    root: folder holding a named set's files, where the source reads files (overrides defaults).
    """
    import ucgen.data.sources  # noqa: F401  (registers the named sources)

    if split not in ("train", "test"):
        raise DataError(f"unknown split '{split}': use 'train' or 'test'")
    if resolution is not None and resolution < 4:
        raise DataError(f"resolution must be at least 4, got {resolution}")
    if spec in SOURCES:
        return SOURCES[spec](split=split, resolution=resolution, root=root)
    from ucgen.data.sources import load_path

    path = Path(spec)
    if path.exists() or "/" in spec or path.suffix:
        return load_path(path, split=split, resolution=resolution)
    known = ", ".join(sorted(SOURCES))
    raise DataError(f"unknown data set '{spec}': known names are {known}, or give a path")
