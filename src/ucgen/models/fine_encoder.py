"""The fine encoder F(x) -> z_f that CoFi-UCGen can train through a diffusion loss
(`ucgen.methods.cofi.fine_stage`): a small strided CNN with a D-dimensional bottleneck.

Why a separate network: the stage-1 encoder's fine head learns only to read back the stage-1
generator's fine input, on top of a trunk frozen for the bit-codes, so on real images its fine
vector need not say anything about the image. F is trained, as in diffusion autoencoders
(Preechakul et al. 2022), so that a UNet given the image's code and F(x) denoises x better:
what the code does not already say about x goes into the bottleneck.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ucgen.errors import ConfigError


@dataclass
class FineEncoderConfig:
    """channels, resolution: the images'; width: first conv's channels (doubled per halving,
    at most 4x); fine_dim: D, the bottleneck's size."""

    channels: int = 1
    resolution: int = 16
    width: int = 32
    fine_dim: int = 16

    def __post_init__(self) -> None:
        if min(self.channels, self.resolution, self.width, self.fine_dim) < 1:
            raise ConfigError(f"fine encoder sizes must be positive, got {self}")


class FineEncoderNet(nn.Module):
    """x (B, C, H, W) in [-1, 1] -> z_f (B, D): convs halving the image down to 4 px (or
    less), then a linear bottleneck."""

    def __init__(self, config: FineEncoderConfig) -> None:
        super().__init__()
        self.config = config
        ch, res = config.width, config.resolution
        layers: list[nn.Module] = [nn.Conv2d(config.channels, ch, 3, padding=1)]
        while res > 4:
            out = min(ch * 2, 4 * config.width)
            layers += [nn.SiLU(), nn.Conv2d(ch, out, 4, stride=2, padding=1)]
            ch, res = out, res // 2
        layers += [nn.SiLU(), nn.Flatten(), nn.Linear(ch * res * res, config.fine_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
