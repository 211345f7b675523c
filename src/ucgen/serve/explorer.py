"""What the explorer page asks of a trained model, with every value it sends checked.

The page sends numbers only (a code, bits, slider positions, seed, steps, guidance) and image
bytes; no request names a file, so nothing outside the run folder can be read or written
through the server. A value out of range raises UcgenError, which the server answers with
its message for the page to show.
"""

from __future__ import annotations

import io
import math
import threading
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ucgen.app.trained import TrainedModel
from ucgen.diffusion.edm import level_count
from ucgen.errors import UcgenError
from ucgen.report.figures import png_data_uri

MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # a dropped image; the server refuses a larger request
MAX_UPLOAD_PIXELS = 4096 * 4096  # checked from the header, before any pixel is decoded
MAX_STEPS = 200
MAX_GUIDANCE = 10.0
SPAN = 3.0  # sliders move a fine direction within +-SPAN standard deviations of its code
SLIDERS = 6  # the first (largest-variance) fine directions get a slider
NEAREST = 4  # nearest training images shown beside an image
VARIATIONS = 4
TRAIN_IMAGES = 4000  # training images searched for nearest neighbours


class Explorer:
    """A trained model behind the page's requests. One request renders at a time (the
    model is not shared between threads); the training images that nearest-neighbour
    searches look through, and their codes, are read once at start."""

    def __init__(self, model: TrainedModel, steps: int | None = None) -> None:
        self.model = model
        self.parts = model.parts
        self.steps = steps if steps is not None else min(8, model.config.sample.steps)
        self.check_steps(self.steps)
        self.sliders = min(SLIDERS, self.parts.fine_dim) if self.parts.num_codes else 0
        self._lock = threading.Lock()
        self._spread: dict[int, torch.Tensor] = {}
        self._gallery: list[dict[str, Any]] | None = None
        from ucgen.data import load_dataset

        data = model.config.data
        images = load_dataset(data.source, "train", model.image_shape[1], root=data.root).images
        self.train_images = images[: min(data.limit or TRAIN_IMAGES, TRAIN_IMAGES)]
        self._train_flat = self.train_images.reshape(len(self.train_images), -1).astype(np.float32)
        self.train_codes = None
        if self.parts.encoder is not None and self.parts.num_codes:
            with self._lock:
                self.train_codes = model.encode(self.train_images).code.numpy()  # type: ignore

    def info(self) -> dict[str, Any]:
        """What the page builds its controls from."""
        sizes = None
        if self.train_codes is not None:
            sizes = np.bincount(self.train_codes, minlength=self.parts.num_codes).tolist()
        return {
            "run": self.model.run.path.resolve().name,
            "generator": self.model.generator_name,
            "num_codes": self.parts.num_codes,
            "code_bits": self.parts.code_bits,
            "sliders": self.sliders,
            "span": SPAN,
            "steps": self.steps,
            "max_steps": MAX_STEPS,
            "guidance": self.model.config.sample.guidance,
            "max_guidance": MAX_GUIDANCE,
            "has_encoder": self.parts.encoder is not None,
            "code_sizes": sizes,
            "max_upload_bytes": MAX_UPLOAD_BYTES,
        }

    def gallery(self) -> list[dict[str, Any]]:
        """One image per code (seed 0, the default steps), largest code first, drawn once."""
        if self._gallery is None:
            sizes = self.info()["code_sizes"] or [0] * self.parts.num_codes
            tiles = []
            for code in sorted(range(self.parts.num_codes), key=lambda c: (-sizes[c], c)):
                with self._lock:
                    image, _ = self.model.sample(1, seed=0, code=code, steps=self.steps)
                tiles.append({"code": code, "size": sizes[code], "image": data_uri(image)})
            self._gallery = tiles
        return self._gallery

    def render(self, request: dict[str, Any]) -> dict[str, Any]:
        """One image for a code (or none, for a model without codes), fine slider positions
        in standard deviations and the sampler settings; with its nearest training images."""
        seed, steps, guidance = self.settings(request)
        code = self.code(request.get("code"))
        positions = self.positions(request.get("fine", []))
        with self._lock:
            cond = self.model.conditions(1, seed, code)
            if cond is not None and cond.fine is not None and positions:
                cond.fine = cond.fine.clone()
                spread = self.spread(code)  # type: ignore[arg-type]
                for d, value in enumerate(positions):
                    cond.fine[0, d] = value * spread[d]
            image = self.model.render(cond, 1, seed, steps=steps, guidance=guidance)
        return {
            "image": data_uri(image),
            "code": code,
            "fine": positions,
            "seed": seed,
            "nearest": self.nearest(image),
            "drawn_by": self.drawn_by(steps, guidance),
        }

    def upload(self, data: bytes, request: dict[str, Any]) -> dict[str, Any]:
        """A dropped image: its code as the encoder reads it, the codes of the training
        images nearest to it, and variations (its code and fine vector, new details)."""
        seed, steps, guidance = self.settings(request)
        if self.parts.encoder is None:
            raise UcgenError(
                "this model has no semantic encoder: it cannot read a code from an image"
            )
        image = read_image(data, self.model.image_shape)
        with self._lock:
            cond = self.model.encode(image)
            variations, _ = self.model.vary(
                image, n=VARIATIONS, seed=seed, steps=steps, guidance=guidance
            )
        code = None if cond.code is None else int(cond.code[0])
        return {
            "image": data_uri(image),
            "code": code,
            "nearest_codes": self.nearest_codes(image),
            "variations": data_uri(variations, columns=VARIATIONS),
            "drawn_by": self.drawn_by(steps, guidance),
        }

    def drawn_by(self, steps: int, guidance: float) -> dict[str, Any]:
        """Which generator drew at these settings and how: a distilled student serves only the
        guidance it was distilled at, and the page says when another scale fell to the slower
        generator it was distilled from."""
        name, used = self.model.drawn_by(guidance=guidance, steps=steps)
        return {
            "generator": name,
            "solver": used.solver,
            "steps": level_count(used.steps),
            "guidance": used.guidance_coarse,
            "fell_back": name != self.model.generator_name,
        }

    def settings(self, request: dict[str, Any]) -> tuple[int, int, float]:
        """seed, steps and guidance of a request, each checked (defaults where absent)."""
        seed = _number(request.get("seed", 0), "seed", 0, 2**31 - 1, integer=True)
        steps = _number(request.get("steps", self.steps), "steps", 1, MAX_STEPS, integer=True)
        guidance = _number(
            request.get("guidance", self.model.config.sample.guidance),
            "guidance",
            0,
            MAX_GUIDANCE,
        )
        return int(seed), int(steps), float(guidance)

    def check_steps(self, steps: int) -> None:
        _number(steps, "steps", 1, MAX_STEPS, integer=True)

    def code(self, value: Any) -> int | None:
        """A code the model has (None where it has none)."""
        if not self.parts.num_codes:
            if value is not None:
                raise UcgenError("this model has no codes: it is unconditional")
            return None
        if value is None:
            raise UcgenError("choose a code")
        return int(_number(value, "code", 0, self.parts.num_codes - 1, integer=True))

    def positions(self, values: Any) -> list[float]:
        """Slider positions, in standard deviations of the code's spread."""
        if not isinstance(values, list) or len(values) > self.sliders:
            raise UcgenError(f"fine must be a list of at most {self.sliders} numbers")
        return [_number(v, f"fine[{i}]", -SPAN, SPAN) for i, v in enumerate(values)]

    def spread(self, code: int) -> torch.Tensor:
        """Standard deviation of each fine coefficient among the code's conditions (the
        scale a traversal moves in)."""
        if code not in self._spread:
            fine = self.model.conditions(1000, 1, code).fine  # type: ignore[union-attr]
            self._spread[code] = fine.std(dim=0)  # type: ignore[union-attr]
        return self._spread[code]

    def nearest(self, image: np.ndarray) -> str:
        """The training images nearest to `image` in pixel space, as one strip."""
        order = self._nearest_indices(image, NEAREST)
        return data_uri(self.train_images[order], columns=NEAREST)

    def nearest_codes(self, image: np.ndarray, k: int = 16) -> list[dict[str, int]]:
        """Codes of the k training images nearest to `image`, most frequent first."""
        if self.train_codes is None:
            return []
        codes = self.train_codes[self._nearest_indices(image, k)]
        counts = np.bincount(codes, minlength=self.parts.num_codes)
        ranked = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c]]
        return [{"code": c, "count": int(counts[c])} for c in ranked]

    def _nearest_indices(self, image: np.ndarray, k: int) -> np.ndarray:
        distances = ((self._train_flat - image.reshape(1, -1).astype(np.float32)) ** 2).sum(1)
        return np.argsort(distances, kind="stable")[: min(k, len(distances))]


def read_image(data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    """Uploaded bytes -> (1, H, W, C) uint8 at the model's size and channels, or a
    UcgenError saying what is wrong (empty, too large, not an image)."""
    if not data:
        raise UcgenError("the upload is empty: drop a PNG or JPEG image")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UcgenError(f"the image is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    try:
        pil = Image.open(io.BytesIO(data))
        width, height = pil.size
        if width * height > MAX_UPLOAD_PIXELS:
            raise UcgenError(f"the image has {width} x {height} pixels: at most 4096 x 4096")
        pil.load()
    except Image.DecompressionBombError:
        raise UcgenError("the image has too many pixels: at most 4096 x 4096") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UcgenError("that file is not an image Pillow can read: drop a PNG or JPEG") from None
    channels, size, _ = shape
    pil = pil.convert("L" if channels == 1 else "RGB").resize((size, size), Image.LANCZOS)
    array = np.asarray(pil, dtype=np.uint8)
    return array.reshape(1, size, size, channels)


def data_uri(images: np.ndarray, columns: int | None = None) -> str:
    """Images (N, H, W, C) uint8 as one PNG data URI, enlarged to >= 128 px a side so that
    the browser need not scale a 16 px image up (it would blur it)."""
    return png_data_uri(images, columns=columns, scale=max(1, math.ceil(128 / images.shape[1])))


def _number(value: Any, name: str, low: float, high: float, integer: bool = False) -> float:
    """A number sent by the page, within [low, high] (a whole number if `integer`)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UcgenError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise UcgenError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise UcgenError(f"{name} must be in [{low:g}, {high:g}], got {value}")
    if integer and number != int(number):
        raise UcgenError(f"{name} must be a whole number, got {value}")
    return number
