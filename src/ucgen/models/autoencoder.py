"""A fully connected autoencoder of whole images: the embedding CoFi-UCGen's coarse teacher
clusters (`ucgen.methods.cofi.teacher`).

The layer sizes are N2D's (McConville et al. 2020, after DEC): pixels -> 500 -> 500 -> 2000 ->
`embed_dim` and back. Dense layers on a CPU run as matrix products, so an epoch of
Fashion-MNIST takes ~5 s on one core in bf16, where the convolutional stage-1 networks take
minutes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from ucgen.errors import ConfigError


@dataclass
class AutoencoderConfig:
    """pixels: C * H * W of the images; hidden: the encoder's layer widths (the decoder
    mirrors them); embed_dim: the embedding's size."""

    pixels: int
    hidden: tuple[int, ...] = (500, 500, 2000)
    embed_dim: int = 10

    def __post_init__(self) -> None:
        if self.pixels < 1 or self.embed_dim < 1 or any(h < 1 for h in self.hidden):
            raise ConfigError(
                f"autoencoder sizes must be positive, got pixels {self.pixels}, hidden "
                f"{self.hidden}, embed_dim {self.embed_dim}"
            )


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """x (B, C, H, W) in [-1, 1] -> embedding (B, embed_dim) -> reconstruction (B, C*H*W)."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        sizes = [config.pixels, *config.hidden, config.embed_dim]
        self.encoder = _mlp(sizes)
        self.decoder = _mlp(sizes[::-1])

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, embed_dim)."""
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of x, flattened: (B, C*H*W), unbounded."""
        return self.decoder(self.embed(x))
