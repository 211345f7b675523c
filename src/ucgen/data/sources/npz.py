"""A `.npz` file of arrays: the simplest way to hand ucgen images that live in memory.

Keys:
- `images`: uint8, (N, H, W) grey or (N, H, W, C) with C in {1, 3}; other dtypes are refused
  (a float array may be in [0, 1], [-1, 1] or [0, 255]; ucgen does not guess);
- `labels` (optional): (N,) integers;
- `class_names` (optional): strings, one per class.
An npz holds one split: `images`/`labels` serve both train and test. If it has
`train_images` and `test_images` (with optional `train_labels`/`test_labels`), each split reads
its own. The file is read with allow_pickle=False, so it cannot run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ucgen.data.dataset import ImageDataset, check_labels
from ucgen.data.registry import Split
from ucgen.data.transforms import resize_images
from ucgen.errors import DataError


def load_npz(path: Path, split: Split, resolution: int | None) -> ImageDataset:
    """One split of an `.npz` file as an ImageDataset named after the file."""
    prefix, images, labels, class_names = _read_arrays(path, split)
    key = f"{prefix}images"
    if images.dtype != np.uint8:
        raise DataError(
            f"{path}: '{key}' has dtype {images.dtype}, expected uint8 in [0, 255]; convert it "
            "yourself (e.g. (x * 255).round().astype(np.uint8) for values in [0, 1])"
        )
    if len(images) == 0:
        raise DataError(f"{path}: '{key}' holds no images")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(
            f"{path}: '{key}' has shape {images.shape}; expected (N, H, W) or (N, H, W, C) "
            "with C in {1, 3} (channels last)"
        )
    if labels is not None:
        labels = check_labels(labels, len(images), f"{path}: '{prefix}labels'")
        if len(labels) and labels.min() < 0:
            raise DataError(f"{path}: '{prefix}labels' holds negative values")
    names = None
    if class_names is not None:
        if class_names.dtype.kind != "U" or class_names.ndim != 1:
            raise DataError(f"{path}: 'class_names' must be a 1-D array of strings")
        names = tuple(str(c) for c in class_names)
        if labels is not None and len(labels) and labels.max() >= len(names):
            raise DataError(
                f"{path}: label {labels.max()} out of range for {len(names)} class names"
            )
    if resolution is not None and images.shape[1:3] != (resolution, resolution):
        images = resize_images(images, resolution)
    return ImageDataset(images=images, labels=labels, name=path.stem, class_names=names)


def _read_arrays(
    path: Path, split: Split
) -> tuple[str, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(key prefix, images, labels, class_names) of `split`; DataError if unreadable."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable .npz file ({err})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(
            f"{path}: holds one bare array (.npy format), not named arrays; save it with "
            "np.savez(path, images=images)"
        )
    with loaded as npz:
        keys = set(npz.files)
        prefix = f"{split}_" if {"train_images", "test_images"} <= keys else ""
        if f"{prefix}images" not in keys:
            raise DataError(
                f"{path}: no '{prefix}images' array (found keys: "
                f"{', '.join(sorted(keys)) or 'none'}); save images under 'images', or "
                "'train_images' and 'test_images'"
            )
        try:
            images = npz[f"{prefix}images"]
            labels = npz[f"{prefix}labels"] if f"{prefix}labels" in keys else None
            class_names = npz["class_names"] if "class_names" in keys else None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise DataError(f"{path}: not a readable .npz file ({err})") from None
    return prefix, images, labels, class_names
