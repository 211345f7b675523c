"""What a method is: its semantic stages and how to assemble its three parts.

Every method trains the same pixel generator (the HM-UNet) last; before that it may train the
networks its semantic encoder and condition sampler need (CoFi-UCGen's stage 1 and its
coarse teacher). The training driver, samplers, evaluation and CLI see only
this interface, never a method's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch

from ucgen.config import Config
from ucgen.data import ImageDataset, to_model_range
from ucgen.errors import UcgenError
from ucgen.methods.parts import ConditionSampler, PixelGenerator, SemanticEncoder
from ucgen.models.condition import Condition
from ucgen.runtime.stage import TrainingStage

ConditionFn = Callable[[torch.Tensor, torch.Tensor | None], Condition]


@dataclass
class Parts:
    """A method's semantic encoder and condition sampler, and how the pixel generator sees them.

    condition(images, labels) -> the Condition the pixel generator is trained with for a batch
    (B, C, H, W) in [-1, 1]; labels reach only the label oracle. None: unconditional.
    coarse_dim / fine_dim: sizes of Condition.coarse / Condition.fine (0 = absent).
    num_codes: how many discrete codes `code` can take (0 = no discrete codes).
    code_bits: K when codes are bit-codes (coarse = bits in {-1, +1}^K), else 0.
    image_shape: (C, H, W) the encoder expects, where there is an encoder.
    generators: pixel generators the method trains besides the HM-UNet (CoFi-UCGen's stage-1
    GAN generator: the baseline the diffusion stage must beat), by name.
    unet_input: maps a Condition as the parts give it (CoFi: fine basis coefficients) to what
    the HM-UNet takes (CoFi with a fine encoder: F-space vectors), for training and sampling
    alike; None: the HM-UNet takes the conditions as they are.
    unet_init: weights the HM-UNet starts training from (CoFi: the UNet co-trained with the
    fine encoder), or None for a fresh one.
    continuous: the encoder's conditions are continuous vectors (RCG's representations), so
    that a point between two images' conditions is a condition too (interpolation).
    """

    encoder: SemanticEncoder | None
    sampler: ConditionSampler | None
    condition: ConditionFn | None
    coarse_dim: int
    fine_dim: int
    num_codes: int
    code_bits: int = 0
    image_shape: tuple[int, int, int] | None = None
    generators: dict[str, PixelGenerator] = field(default_factory=dict)
    unet_input: Callable[[Condition], Condition] | None = None
    unet_init: dict[str, torch.Tensor] | None = None
    continuous: bool = False


class UNetInputGenerator:
    """A pixel generator whose conditions pass through `Parts.unet_input` before it sees them
    (what the HM-UNet was trained on), so callers keep the parts' conditions."""

    def __init__(self, inner: PixelGenerator, unet_input: Callable[[Condition], Condition]) -> None:
        self.inner = inner
        self.unet_input = unet_input

    def render(
        self,
        condition: Condition | None,
        n: int,
        seed: int,
        settings: Any,
        init: torch.Tensor | None = None,
    ) -> torch.Tensor:
        mapped = None if condition is None else self.unet_input(condition)
        return self.inner.render(mapped, n, seed, settings, init)


class Method(Protocol):
    name: str
    summary: str

    def semantic_stages(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Iterator[TrainingStage]:
        """Stages to train before the pixel generator, in order. A stage is built only after
        the previous one has finished training, so it may load that one's components."""
        ...

    def fit_parts(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Parts:
        """Assemble the parts after the semantic stages, fitting and saving anything that is
        computed from the training images (fine basis, label frequencies) under checkpoints.
        Where a resumed run has saved them already, they are loaded, not fitted again: the
        pixel generator may be trained on them."""
        ...

    def load_parts(self, config: Config, checkpoints: Path, device: torch.device) -> Parts:
        """Rebuild the parts of a trained run from its checkpoints alone."""
        ...


def encode_dataset(
    parts: Parts, data: ImageDataset, device: torch.device, batch_size: int = 1024
) -> Condition:
    """The semantic encoder's conditions of every image of `data`, on the CPU."""
    if parts.encoder is None:
        raise UcgenError("this run's method has no semantic encoder: nothing to cluster with")
    out = []
    for start in range(0, len(data), batch_size):
        x = to_model_range(data.images[start : start + batch_size]).to(device)
        out.append(parts.encoder.encode(x).to("cpu"))
    return Condition.cat(out)
