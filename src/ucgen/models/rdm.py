"""RCG's representation diffusion model (RDM): the raw network F of EDM over (B, D) vectors.

An MLP of residual blocks (Li, Katabi, He 2024, section 3.2): the noisy representation is
projected to `width`, each block is LayerNorm -> scale and shift by the noise-level embedding
(AdaLN) -> Linear -> SiLU -> Linear added back, and a zero-initialised output layer maps back
to D, so a fresh network predicts F = 0 (EDM then starts from the skip connection's estimate).
It knows nothing of noise schedules: `ucgen.diffusion.edm` preconditions it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class RDMConfig:
    """dim: D of the representations; width: hidden size; blocks: residual blocks."""

    dim: int = 64
    width: int = 256
    blocks: int = 4


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False)
        self.modulation = nn.Linear(width, 2 * width)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.modulation(emb).chunk(2, dim=1)
        return h + self.mlp(self.norm(h) * (1 + scale) + shift)


class RDM(nn.Module):
    """F(x (B, D), c_noise (B,)) -> (B, D)."""

    def __init__(self, config: RDMConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.inp = nn.Linear(config.dim, w)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.blocks = nn.ModuleList(_Block(w) for _ in range(config.blocks))
        self.out_norm = nn.LayerNorm(w)
        self.out = nn.Linear(w, config.dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def _embed(self, c_noise: torch.Tensor) -> torch.Tensor:
        """Sinusoidal embedding of c_noise (B,) -> (B, width), then an MLP."""
        half = self.config.width // 2
        freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=c_noise.device) / half)
        angles = c_noise.float()[:, None] * 1000 * freqs[None]  # c_noise = ln(sigma) / 4 is small
        emb = torch.cat([angles.cos(), angles.sin()], dim=1)
        if emb.shape[1] < self.config.width:
            emb = nn.functional.pad(emb, (0, self.config.width - emb.shape[1]))
        return self.time(emb.to(self.inp.weight.dtype))

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        emb = self._embed(c_noise)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(self.out_norm(h))
