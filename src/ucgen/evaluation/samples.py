"""The sample exchange format: generated images (from any method or program) in one `.npz`.

Keys (see docs/evaluation.md):
    images  uint8 (N, H, W, C), C in {1, 3}, or (N, H, W) for grey: the generated images,
            pixel values 0..255
    codes   int64 (N,), optional: the discrete code each image was generated with, -1 for
            none (no `codes` array: none for every image, as an unconditional tool writes)
    fine    float32 (N, D), optional: the fine vector each image was generated with
Stored with `np.savez` (no pickle; loading refuses object arrays), written atomically.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ucgen.errors import UcgenError
from ucgen.io.atomic import atomic_write

KEYS = ("images", "codes", "fine")


@dataclass(frozen=True)
class Samples:
    """Validated contents of a samples file (shapes as in the module docstring)."""

    images: np.ndarray
    codes: np.ndarray
    fine: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def has_codes(self) -> bool:
        """True when every image has a code (>= 0); -1 marks unconditional samples."""
        return bool((self.codes >= 0).all())


def validate_samples(
    images: np.ndarray,
    codes: np.ndarray | None = None,
    fine: np.ndarray | None = None,
    source: str = "samples",
) -> Samples:
    """Check dtypes and shapes; grey images (N, H, W) get their channel axis (N, H, W, 1) and
    codes default to -1 (none). Errors name the key and problem."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise UcgenError(f"{source}: 'images' must be uint8 (0..255), got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise UcgenError(
            f"{source}: 'images' must have shape (N > 0, H, W, C) with C in "
            f"{{1, 3}}, or (N > 0, H, W) for grey, got {images.shape}"
        )
    n = len(images)
    if codes is None:
        codes = np.full(n, -1, np.int64)
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise UcgenError(f"{source}: 'codes' must be integers, got {codes.dtype}")
    if codes.shape != (n,):
        raise UcgenError(
            f"{source}: 'codes' must have shape ({n},) to match 'images', got {codes.shape}"
        )
    if (codes < -1).any():
        raise UcgenError(f"{source}: 'codes' must be >= 0, or -1 for none; got {codes.min()}")
    if fine is not None:
        fine = np.asarray(fine)
        if not np.issubdtype(fine.dtype, np.floating):
            raise UcgenError(f"{source}: 'fine' must be floats, got {fine.dtype}")
        if fine.ndim != 2 or len(fine) != n:
            raise UcgenError(f"{source}: 'fine' must have shape ({n}, D), got {fine.shape}")
        fine = fine.astype(np.float32, copy=False)
    return Samples(images, codes.astype(np.int64, copy=False), fine)


def save_samples(
    path: str | Path,
    images: np.ndarray,
    codes: np.ndarray | None = None,
    fine: np.ndarray | None = None,
) -> Path:
    """Validate and write a samples `.npz` atomically; returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        raise UcgenError(f"{path}: a samples file must end in .npz")
    s = validate_samples(images, codes, fine, source=str(path))
    arrays = {"images": s.images, "codes": s.codes}
    if s.fine is not None:
        arrays["fine"] = s.fine

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            np.savez(f, **arrays)

    atomic_write(path, write)
    return path


def load_samples(path: str | Path) -> Samples:
    """Read and validate a samples `.npz`; a missing file, unknown key or bad array is a
    UcgenError naming it."""
    path = Path(path)
    if not path.is_file():
        raise UcgenError(f"samples file not found: {path}")
    if not zipfile.is_zipfile(path):  # np.load would try it as a pickle, or as one .npy array
        raise UcgenError(
            f"{path}: not an .npz samples file (numpy.savez of images, codes, fine; "
            "see docs/evaluation.md)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            unknown = sorted(keys - set(KEYS))
            if unknown:
                raise UcgenError(
                    f"{path}: unknown keys {', '.join(unknown)}; a samples file "
                    f"holds {', '.join(KEYS)}"
                )
            if "images" not in keys:
                raise UcgenError(f"{path}: no 'images' array")
            arrays = {k: data[k] for k in keys}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise UcgenError(f"{path}: not a readable .npz file ({err})") from None
    return validate_samples(arrays["images"], arrays.get("codes"), arrays.get("fine"), str(path))
