"""The two baselines, as choices of parts.

- Unconditional: no encoder, no condition sampler; the UNet has coarse_dim = fine_dim = 0 and
  the diffusion stage gets `condition_fn=None`, `preview_conditions=None`.
- Label oracle: the "encoder" is the true labels (one-hot coarse + class id as code), and new
  conditions are drawn from the empirical label frequencies of the training set. It bounds
  what a label-free method can reach with the same UNet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ucgen.config import Config
from ucgen.data import ImageDataset
from ucgen.errors import DataError
from ucgen.io.checkpoint import load_weights, save_weights
from ucgen.methods.method import Parts
from ucgen.models.condition import Condition
from ucgen.runtime import distributed as dist
from ucgen.runtime.stage import TrainingStage


def one_hot_condition(labels: torch.Tensor, num_classes: int) -> Condition:
    """Labels (B,) int -> Condition(coarse = one-hot (B, num_classes) float, code = labels)."""
    code = labels.long()
    return Condition(coarse=F.one_hot(code, num_classes).float(), code=code)


class LabelOracle:
    """The oracle's condition function: true labels as a one-hot coarse condition.

    Used as the diffusion stage's `condition_fn(images, labels)`; the images are ignored.
    """

    def __init__(self, num_classes: int) -> None:
        if num_classes < 2:
            raise DataError(f"the label oracle needs >= 2 classes, got {num_classes}")
        self.num_classes = num_classes
        self.coarse_dim = num_classes
        self.fine_dim = 0

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None) -> Condition:
        if labels is None:
            raise DataError("the label-oracle baseline needs a data set with labels")
        return one_hot_condition(labels.to(images.device), self.num_classes)


class LabelFrequencySampler:
    """ConditionSampler drawing classes with their training-set frequencies.

    labels: (N,) int training labels; `sample(n, generator, code=c)` gives n copies of class c.
    """

    def __init__(self, labels: np.ndarray, num_classes: int) -> None:
        counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
        if len(counts) > num_classes:
            raise DataError(f"labels reach {len(counts) - 1}, beyond {num_classes} classes")
        self.num_classes = num_classes
        self.probs = torch.from_numpy(counts / counts.sum()).float()

    def sample(self, n: int, generator: torch.Generator, code: int | None = None) -> Condition:
        if code is None:
            labels = torch.multinomial(self.probs, n, replacement=True, generator=generator)
        elif 0 <= code < self.num_classes:
            labels = torch.full((n,), code, dtype=torch.long)
        else:
            raise DataError(f"class {code} is not in [0, {self.num_classes})")
        return one_hot_condition(labels, self.num_classes)


LABELS_FOLDER = "oracle-parts"


class _PixelGeneratorOnly:
    """A baseline trains the pixel generator alone: no semantic stage."""

    def semantic_stages(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Iterator[TrainingStage]:
        return iter(())


class UnconditionalMethod(_PixelGeneratorOnly):
    """Baseline: the same UNet with no condition at all."""

    name = "uncond"
    summary = "unconditional UNet (baseline)"

    def fit_parts(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Parts:
        return self.load_parts(config, checkpoints, device)

    def load_parts(self, config: Config, checkpoints: Path, device: torch.device) -> Parts:
        return Parts(
            encoder=None,
            sampler=None,
            condition=None,
            coarse_dim=0,
            fine_dim=0,
            num_codes=0,
        )


class LabelOracleMethod(_PixelGeneratorOnly):
    """Baseline upper bound: the true labels as the condition (labels used in training)."""

    name = "labels"
    summary = "label-conditional UNet (oracle baseline: uses the true labels)"

    def fit_parts(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Parts:
        saved = checkpoints / LABELS_FOLDER / "labels.safetensors"
        # Counted before a resume: the UNet's classes stay, whatever data the run resumes on.
        if not saved.is_file() and (data.labels is None or data.num_classes is None):
            raise DataError(f"the label-oracle baseline needs labels, and {data.name} has none")

        def fit() -> None:
            counts = np.bincount(data.labels, minlength=data.num_classes)  # type: ignore[arg-type]
            save_weights({"counts": torch.from_numpy(counts)}, saved)

        return dist.fit_once(saved, fit, lambda: self.load_parts(config, checkpoints, device))

    def load_parts(self, config: Config, checkpoints: Path, device: torch.device) -> Parts:
        return self._parts(
            load_weights(checkpoints / LABELS_FOLDER / "labels.safetensors")["counts"]
        )

    @staticmethod
    def _parts(counts: torch.Tensor) -> Parts:
        num_classes = len(counts)
        labels = np.repeat(np.arange(num_classes), counts.numpy())
        return Parts(
            encoder=None,
            sampler=LabelFrequencySampler(labels, num_classes),
            condition=LabelOracle(num_classes),
            coarse_dim=num_classes,
            fine_dim=0,
            num_codes=num_classes,
        )
