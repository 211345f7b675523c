"""The self-supervised representation encoder of RCG (Li, Katabi, He 2024), trained here.

A small convolutional backbone, global average pooling and a projector MLP (SimCLR, Chen et al.
2020; MoCo v3, Chen et al. 2021). RCG conditions its pixel generator on the projector's output,
standardised per sample (mean 0, standard deviation 1 over its D dimensions), and so does this
encoder's `represent`: the scale of a representation carries no information the contrastive
loss trains, and a fixed scale is what the representation diffusion model expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class RepEncoderConfig:
    """channels C and resolution H = W of the images; width: channels of the first conv
    block (doubled at each of the two downsamplings); hidden: the projector's hidden width;
    dim: D, the representation size."""

    channels: int = 1
    resolution: int = 28
    width: int = 32
    hidden: int = 256
    dim: int = 64


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
        nn.GroupNorm(min(8, cout), cout),
        nn.SiLU(),
    )


class RepEncoder(nn.Module):
    """Images (B, C, H, W) in [-1, 1] -> projector outputs (B, D)."""

    def __init__(self, config: RepEncoderConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.backbone = nn.Sequential(
            _block(config.channels, w, 1),
            _block(w, w, 1),
            _block(w, 2 * w, 2),
            _block(2 * w, 2 * w, 1),
            _block(2 * w, 4 * w, 2),
            _block(4 * w, 4 * w, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.projector = nn.Sequential(
            nn.Linear(4 * w, config.hidden),
            nn.LayerNorm(config.hidden),
            nn.SiLU(),
            nn.Linear(config.hidden, config.dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """RCG's representation: the projector output standardised per sample, (B, D) float32."""
        return standardise(self(x).float())


def standardise(z: torch.Tensor) -> torch.Tensor:
    """(B, D) -> each row minus its mean, over its standard deviation (RCG's normalisation)."""
    z = z - z.mean(dim=1, keepdim=True)
    return z / z.std(dim=1, keepdim=True).clamp_min(1e-6)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> tuple[torch.Tensor, float]:
    """SimCLR's NT-Xent loss of two views' representations a, b (B, D): each of the 2B rows
    must pick its other view among the other 2B - 1 by cosine similarity / temperature.
    Returns the loss and the share of rows whose nearest other row is their other view."""
    z = F.normalize(torch.cat([a, b]).float(), dim=1)
    n = len(a)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    accuracy = (logits.argmax(dim=1) == target).float().mean().item()
    return F.cross_entropy(logits, target), accuracy
