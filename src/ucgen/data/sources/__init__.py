"""Every data source; importing this package registers the named ones."""

from pathlib import Path

from ucgen.data.dataset import ImageDataset
from ucgen.data.sources import digits, shapes  # noqa: F401
from ucgen.errors import DataError


def load_path(path: Path, split: str, resolution: int | None) -> ImageDataset:
    """Load a data set from a path (folder of images, .npz, IDX files, CIFAR batches)."""
    raise DataError(f"{path}: no loader for this path yet")
