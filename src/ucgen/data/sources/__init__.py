"""Every data source; importing this package registers the named ones.

Named sets: `digits`, `shapes`, `mnist`, `fashion-mnist`, `cifar10`. Paths are dispatched by
what they hold, in this order: an `.npz` file; a folder of IDX files; a CIFAR-10 batches
folder (or its parent); any other folder is read as a folder of images.
"""

from pathlib import Path

from ucgen.data.dataset import ImageDataset
from ucgen.data.registry import Split
from ucgen.data.sources import cifar, digits, idx, shapes  # noqa: F401  (register names)
from ucgen.data.sources.folder import load_image_folder
from ucgen.data.sources.npz import load_npz
from ucgen.errors import DataError


def load_path(path: Path, split: Split, resolution: int | None) -> ImageDataset:
    """Load a data set from a path (folder of images, .npz, IDX files, CIFAR batches)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return load_npz(path, split, resolution)
        raise DataError(
            f"{path}: cannot load a single {path.suffix or 'extensionless'} file; give an .npz "
            "file or a folder (of images, IDX files or CIFAR-10 batches)"
        )
    if idx.is_idx_folder(path):
        return idx.load_idx_folder(path, split, resolution)
    if cifar.is_cifar_folder(path):
        return cifar.load_cifar_folder(path, split, resolution, name=path.name)
    return load_image_folder(path, split, resolution)
