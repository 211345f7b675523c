"""The three parts every method is made of, behind small interfaces.

    semantic encoder  : image -> Condition        (what the image is, without labels)
    condition sampler : n -> Condition            (new conditions to generate from)
    pixel generator   : Condition -> image        (the HM-UNet diffusion model; CoFi-UCGen's
                                                   stage-1 GAN generator is another one)

A method (CoFi-UCGen, unconditional, label oracle) is a choice of three parts; trainer,
sampler, evaluator and CLI only talk to these interfaces.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ucgen.diffusion.pipeline import SamplerSettings
from ucgen.models.condition import Condition


@runtime_checkable
class SemanticEncoder(Protocol):
    """Image -> Condition. x: (B, C, H, W) in [-1, 1]."""

    coarse_dim: int
    fine_dim: int

    def encode(self, x: torch.Tensor) -> Condition: ...


@runtime_checkable
class ConditionSampler(Protocol):
    """Draws conditions to generate from; `code` fixes the discrete kind where there is one."""

    def sample(self, n: int, generator: torch.Generator, code: int | None = None) -> Condition: ...


@runtime_checkable
class PixelGenerator(Protocol):
    """Condition -> images (N, C, H, W) in [-1, 1]. Image i depends only on (seed, i) and its
    condition row. Settings that a generator has no use for (a GAN has no steps) are ignored.
    With `init` (N, C, H, W), a generator that can (diffusion) starts from those images and
    redraws them as much as `settings.strength` says; one that cannot raises UcgenError."""

    def render(
        self,
        condition: Condition | None,
        n: int,
        seed: int,
        settings: SamplerSettings,
        init: torch.Tensor | None = None,
    ) -> torch.Tensor: ...
