"""CIFAR-10 python batches (`cifar-10-batches-py`): 50000 train / 10000 test, 32x32 RGB.

The batches are pickles. A pickle can name any importable callable and so run arbitrary code
when loaded; these files are read with `SafeUnpickler`, which resolves only the few numpy
names an array needs (never any other class or function) and refuses everything else, so a
tampered batch fails with a DataError instead of running code.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ucgen.data.dataset import ImageDataset, check_labels
from ucgen.data.download import CIFAR_FILES, locate
from ucgen.data.registry import Split, register
from ucgen.data.transforms import resize_images
from ucgen.errors import DataError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
META = "batches.meta"


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    """numpy 2's `_frombuffer(buf, dtype, shape, order)` for protocol-5 pickles, rebuilt."""
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


# The only globals a pickled numpy array may name: its reconstructor (under the module name
# numpy 1 and numpy 2 pickles use), ndarray, dtype, numpy 2's protocol-5 buffer loader, and
# `_codecs.encode`, which protocol-2 pickles written by Python 3 use to rebuild bytes.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): codecs.encode,
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickles plain containers (dict, list, str, bytes, numbers) and numpy arrays only."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed"
            ) from None


def read_batch(path: Path) -> dict[str, Any]:
    """One batch file as a dict with str keys; DataError naming the file if unreadable."""
    try:
        with open(path, "rb") as f:
            # latin1: the batches were pickled by Python 2; numpy needs latin1 to rebuild them.
            obj = SafeUnpickler(f, encoding="latin1").load()
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
    ) as err:
        raise DataError(f"{path}: not a readable CIFAR batch ({err})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: not a CIFAR batch (holds a {type(obj).__name__}, not a dict)")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


@register("cifar10")
def load_cifar10(
    split: Split = "train", resolution: int | None = None, root: str | Path | None = None
) -> ImageDataset:
    """CIFAR-10 from its python batches; root may be the batches folder or its parent."""
    return load_cifar_folder(locate("cifar10", root), split, resolution, name="cifar10")


def is_cifar_folder(folder: Path) -> bool:
    """True when `folder` (or its `cifar-10-batches-py` subfolder) holds a CIFAR batch."""
    return any(
        (f / n).is_file()
        for f in (folder, folder / "cifar-10-batches-py")
        for n in (*TRAIN_BATCHES, *TEST_BATCHES)
    )


def load_cifar_folder(
    folder: Path, split: Split, resolution: int | None, name: str = "cifar10"
) -> ImageDataset:
    """One split from a CIFAR-10 batches folder: images (N, 32, 32, 3), labels, class names."""
    if not (folder / TEST_BATCHES[0]).is_file() and (folder / "cifar-10-batches-py").is_dir():
        folder = folder / "cifar-10-batches-py"
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    missing = [n for n in (*names, META) if not (folder / n).is_file()]
    if missing:
        raise DataError(
            f"{folder}: CIFAR-10 files missing: {', '.join(missing)} (a complete folder holds "
            f"{', '.join(CIFAR_FILES)})"
        )
    images, labels = [], []
    for batch_name in names:
        path = folder / batch_name
        batch = read_batch(path)
        data, batch_labels = batch.get("data"), batch.get("labels")
        if (
            not isinstance(data, np.ndarray)
            or data.dtype != np.uint8
            or data.ndim != 2
            or data.shape[1] != 3 * 32 * 32
        ):
            desc = (
                f"{data.dtype} {data.shape}"
                if isinstance(data, np.ndarray)
                else repr(type(data).__name__)
            )
            raise DataError(f"{path}: 'data' must be a uint8 array (N, 3072), got {desc}")
        if batch_labels is None:
            raise DataError(f"{path}: no 'labels' list")
        batch_labels = check_labels(batch_labels, len(data), f"{path}: 'labels'")
        # Rows are 1024 red, 1024 green, 1024 blue values, each 32x32 in row-major order.
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(batch_labels)
    meta = read_batch(folder / META)
    class_names = meta.get("label_names")
    if not isinstance(class_names, list) or not all(isinstance(c, str) for c in class_names):
        raise DataError(f"{folder / META}: 'label_names' must be a list of strings")
    all_images = np.ascontiguousarray(np.concatenate(images))
    all_labels = np.concatenate(labels)
    if all_labels.min() < 0 or all_labels.max() >= len(class_names):
        raise DataError(f"{folder}: labels outside 0..{len(class_names) - 1}")
    if resolution is not None and resolution != 32:
        all_images = resize_images(all_images, resolution)
    return ImageDataset(
        images=all_images, labels=all_labels, name=name, class_names=tuple(class_names)
    )
