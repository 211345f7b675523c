"""Image data sources behind one interface: `load_dataset(spec) -> ImageDataset`."""

from ucgen.data.dataset import ImageDataset, to_model_range, to_uint8
from ucgen.data.registry import SOURCES, load_dataset

__all__ = ["SOURCES", "ImageDataset", "load_dataset", "to_model_range", "to_uint8"]
