"""IDX files, the MNIST family's format: `mnist`, `fashion-mnist`, and any folder of IDX files.

IDX layout (big-endian): two zero bytes, a type byte, a byte with the number of dimensions,
one uint32 per dimension, then the values in C order. Files may be gzipped (NAME.gz). The
header is checked against the file size, so a truncated or padded file fails here, naming it,
instead of being reshaped into garbage.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ucgen.data.dataset import ImageDataset, check_labels
from ucgen.data.download import locate
from ucgen.data.registry import Split, register
from ucgen.data.transforms import resize_images
from ucgen.errors import DataError

IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@register("mnist")
def load_mnist(
    split: Split = "train", resolution: int | None = None, root: str | Path | None = None
) -> ImageDataset:
    """MNIST handwritten digits: 60000 train / 10000 test, 28x28 grey."""
    return load_idx_folder(
        locate("mnist", root),
        split,
        resolution,
        name="mnist",
        class_names=tuple(str(i) for i in range(10)),
    )


@register("fashion-mnist")
def load_fashion_mnist(
    split: Split = "train", resolution: int | None = None, root: str | Path | None = None
) -> ImageDataset:
    """Fashion-MNIST clothing images: 60000 train / 10000 test, 28x28 grey, 10 classes."""
    return load_idx_folder(
        locate("fashion-mnist", root),
        split,
        resolution,
        name="fashion-mnist",
        class_names=FASHION_CLASSES,
    )


def is_idx_folder(folder: Path) -> bool:
    """True when `folder` holds at least one IDX image file (…images-idx3-ubyte[.gz])."""
    return any(_idx_files(folder, "images"))


def load_idx_folder(
    folder: Path,
    split: Split,
    resolution: int | None,
    name: str | None = None,
    class_names: tuple[str, ...] | None = None,
) -> ImageDataset:
    """Images (and labels, when a matching labels file exists) of one split from a folder.

    The split's files are those whose names start with `train` (train) or `t10k`/`test`
    (test) and contain `images-idx3-ubyte` / `labels-idx1-ubyte`, as MNIST names them.
    """
    images_file = _split_file(folder, split, "images")
    if images_file is None:
        found = ", ".join(p.name for p in _idx_files(folder, "images")) or "none"
        raise DataError(
            f"{folder}: no IDX images file for the {split} split (expected a name starting "
            f"with {' or '.join(SPLIT_PREFIXES[split])} and containing images-idx3-ubyte; "
            f"found {found})"
        )
    images = read_idx(images_file)
    if (
        images.dtype != np.uint8
        or images.ndim not in (3, 4)
        or (images.ndim == 4 and images.shape[-1] not in (1, 3))
        or len(images) == 0
    ):
        raise DataError(
            f"{images_file}: expected uint8 images of shape (N, H, W) or (N, H, W, C) with "
            f"N > 0 and C in {{1, 3}}, got {images.dtype} {images.shape}"
        )
    if images.ndim == 3:
        images = images[..., None]
    labels = None
    labels_file = _split_file(folder, split, "labels")
    if labels_file is not None:
        labels = check_labels(
            read_idx(labels_file), len(images), f"{labels_file} (images: {images_file.name})"
        )
    if resolution is not None and images.shape[1:3] != (resolution, resolution):
        images = resize_images(images, resolution)
    if labels is not None and class_names is not None and labels.max() >= len(class_names):
        raise DataError(
            f"{labels_file}: label {labels.max()} out of range for {len(class_names)} classes"
        )
    return ImageDataset(
        images=images, labels=labels, name=name or folder.name, class_names=class_names
    )


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (raw or .gz) as an array; DataError naming the file if it is corrupt."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot read the file ({err})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES or raw[3] == 0:
        raise DataError(
            f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}; expected "
            "00 00, a type byte and a dimension count)"
        )
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(
            f"{path}: file is {what}: header says shape {dims} ({expected} bytes), the "
            f"file holds {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _idx_files(folder: Path, kind: str) -> list[Path]:
    tag = "images-idx3-ubyte" if kind == "images" else "labels-idx1-ubyte"
    return sorted(p for p in folder.iterdir() if p.is_file() and tag in p.name)


def _split_file(folder: Path, split: Split, kind: str) -> Path | None:
    """The split's file of `kind`; the raw file wins over NAME.gz when both exist."""
    files = [p for p in _idx_files(folder, kind) if p.name.startswith(SPLIT_PREFIXES[split])]
    files.sort(key=lambda p: (p.suffix == ".gz", p.name))
    return files[0] if files else None
