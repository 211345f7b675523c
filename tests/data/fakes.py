"""Tiny data files in every format ucgen reads, written in tests' tmp folders."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(">f4"): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 (or big-endian float32) array."""
    dims = np.array(array.shape, ">u4").tobytes()
    return bytes([0, 0, IDX_CODES[array.dtype], array.ndim]) + dims + array.tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def random_images(n: int, h: int = 6, w: int = 6, c: int | None = None, seed: int = 0):
    shape = (n, h, w) if c is None else (n, h, w, c)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def make_idx_folder(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True) -> Path:
    """MNIST-named IDX files: train 12 and test 5 images of 6x6, labels 0..9."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", random_images(n, seed=seed))
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return folder


CIFAR_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def make_cifar_folder(folder: Path, per_batch: int = 2, protocol: int = 2) -> Path:
    """A cifar-10-batches-py folder with `per_batch` images in each of the 6 batches."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": [int(x) for x in rng.integers(0, 10, per_batch)],
            "batch_label": name,
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    meta = {"label_names": CIFAR_CLASSES, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=protocol))
    return folder


def write_image(
    path: Path, size: tuple[int, int] = (8, 8), mode: str = "RGB", value: int = 100
) -> Path:
    """A flat image of `size` (W, H) in PIL `mode`, saved by extension (PNG/JPEG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode in ("L", "1") else (value,) * len(mode)
    Image.new(mode, size, colour).save(path)
    return path
