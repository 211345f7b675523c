"""A folder of PNG/JPEG images, searched recursively, in sorted path order.

Rules, chosen to be predictable and never to change pixels behind the user's back:
- Splits: if the folder has `train/` and `test/` subfolders, each split reads its own;
  otherwise both splits are the whole folder (there is nothing to hold out).
- Labels: when every image sits inside a first-level subfolder (of the split folder), the
  subfolder names are the classes, sorted by name; any image directly in the folder means
  the set has no labels.
- Size: without `resolution` every image must have the same size, else a DataError names two
  files that differ and suggests --resolution; with it, every image is resized (bicubic).
- Channels: grey files (modes 1, L, LA) give 1 channel, colour files (RGB, RGBA, P, CMYK,
  YCbCr, ...) give 3; alpha is dropped. A mix of grey and colour files is a DataError naming
  one of each, unless `resolution` is given: images are then rewritten anyway, and grey
  ones become RGB by repeating the grey value (which loses nothing).
- 16-bit and float images (modes I, I;16, F) are refused: scaling them to 8 bits is a choice
  the user must make.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ucgen.data.dataset import ImageDataset
from ucgen.data.registry import Split
from ucgen.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg")
GREY_MODES = {"1", "L", "LA"}
WIDE_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def image_files(folder: Path) -> list[Path]:
    """Every PNG/JPEG under `folder` (any depth, extension case ignored), sorted by path."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


def load_image_folder(folder: Path, split: Split, resolution: int | None) -> ImageDataset:
    """The images of one split of `folder` as an ImageDataset named after the folder."""
    base = folder
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        base = folder / split
    files = image_files(base)
    if not files:
        raise DataError(
            f"{base}: no images found (looked for {', '.join(EXTENSIONS)} files in any subfolder)"
        )
    # Pass 1 reads headers only (cheap) to settle mode and size before decoding anything.
    headers = [_header(path) for path in files]
    grey = [p for p, (_, mode) in zip(files, headers, strict=True) if mode in GREY_MODES]
    colour = [p for p, (_, mode) in zip(files, headers, strict=True) if mode not in GREY_MODES]
    if grey and colour and resolution is None:
        raise DataError(
            f"images mix grey and colour: {grey[0]} is grey (1 channel), {colour[0]} is colour "
            "(3 channels); convert them to one mode, or pass --resolution to resize them all "
            "and store them as RGB"
        )
    mode = "RGB" if colour else "L"
    if resolution is None:
        sizes = {}
        for path, (size, _) in zip(files, headers, strict=True):
            sizes.setdefault(size, path)
            if len(sizes) > 1:
                (s0, p0), (s1, p1) = sizes.items()
                raise DataError(
                    f"images differ in size: {p0} is {s0[0]}x{s0[1]}, {p1} is {s1[0]}x{s1[1]}; "
                    "pass --resolution N to resize every image to NxN"
                )
    width, height = (resolution, resolution) if resolution else headers[0][0]
    # Pass 2 decodes each file fully (so truncation is caught) straight into one array.
    images = np.empty((len(files), height, width, 3 if colour else 1), np.uint8)
    for i, path in enumerate(files):
        images[i] = _pixels(path, mode, resolution).reshape(height, width, -1)
    labels, class_names = _folder_labels(base, files)
    return ImageDataset(images=images, labels=labels, name=folder.name, class_names=class_names)


def _header(path: Path) -> tuple[tuple[int, int], str]:
    """(width, height) and PIL mode of an image from its header; DataError naming the file."""
    try:
        with Image.open(path) as im:
            size, mode = im.size, im.mode
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: unreadable image ({err})") from None
    if mode in WIDE_MODES:
        raise DataError(
            f"{path}: {mode} image (16-bit or float); convert it to 8-bit grey or RGB, "
            "ucgen does not guess how to scale it"
        )
    return size, mode


def _pixels(path: Path, mode: str, resolution: int | None) -> np.ndarray:
    """Fully decoded uint8 pixels of one image in `mode`, resized if asked; a truncated or
    corrupt file fails here, named."""
    try:
        with Image.open(path) as im:
            im.load()
            image = im if im.mode == mode else im.convert(mode)
            if resolution is not None and image.size != (resolution, resolution):
                image = image.resize((resolution, resolution), Image.Resampling.BICUBIC)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: unreadable or truncated image ({err})") from None


def _folder_labels(
    base: Path, files: list[Path]
) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    """Class ids from first-level subfolder names, or (None, None) if any image is top-level."""
    parts = [p.relative_to(base).parts for p in files]
    if any(len(part) < 2 for part in parts):
        return None, None
    class_names = tuple(sorted({part[0] for part in parts}))
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[part[0]] for part in parts], np.int64), class_names


def read_image(path: Path, channels: int, resolution: int) -> np.ndarray:
    """One image file as (1, R, R, C) uint8, converted to the model's channels and size.

    Palette images are expanded, alpha (RGBA, LA, PA) is dropped as the data loaders drop it,
    16-bit grey (modes I;16*, and I as Pillow opens 16-bit PNGs) is scaled from 0..65535 to
    0..255 (PIL's own conversion would clip it to white). Float images (mode F) are refused:
    their range is not stated, as in `ucgen.data.sources.folder`."""
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in WIDE_MODES:
                im = _wide_to_grey(path, im)
            im = im.convert("L" if channels == 1 else "RGB")
            im = im.resize((resolution, resolution), Image.Resampling.BICUBIC)
            arr = np.asarray(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: not a readable image ({err})") from None
    return arr.reshape(1, resolution, resolution, channels)


def _wide_to_grey(path: Path, im: Image.Image) -> Image.Image:
    """A 16-bit grey image as 8-bit grey (mode L), 65535 -> 255 with rounding; a float
    image is refused."""
    if im.mode == "F":
        raise DataError(
            f"{path}: float image (mode F) of no stated range; convert it to 8-bit grey or RGB"
        )
    values = np.asarray(im).astype(np.int64)
    if values.min() < 0 or values.max() > 65535:
        raise DataError(
            f"{path}: {im.mode} image with values {values.min()}..{values.max()}, outside "
            "16 bits (0..65535); convert it to 8-bit grey or RGB"
        )
    return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), mode="L")
