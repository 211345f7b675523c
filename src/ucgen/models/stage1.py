"""CoFi-UCGen stage-1 networks for small images: generator G(z_c, z_f), encoder E(x) and the
joint discriminator D(x, z) of adversarial semantic reciprocal learning (BiGAN/ALI pairs).

Images are (B, C, H, W) in [-1, 1] with C in {1, 3} and H = W a multiple of 4 in [8, 32];
every network works on a base grid of H/4 (4x4 at 16 px, 7x7 at 28 px) and two 2x steps.
Latents are z = (z_c, z_f): z_c (B, K) coarse, z_f (B, D) fine, prior N(0, I).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ucgen.errors import ConfigError


@dataclass
class Stage1NetConfig:
    """Shape of one stage-1 network; G, E and D of a model share one.

    bits: K, the coarse latent size (2**K bit-codes). fine_dim: D, the fine latent size.
    width: base channel count (the coarsest grid has 2 * width channels).
    coarse_pool: the encoder reads z_c from spatially averaged features, so that the bit-code
    cannot depend on where things are (position goes to z_f); see `Encoder`.
    """

    bits: int = 4
    fine_dim: int = 16
    width: int = 32
    channels: int = 1
    resolution: int = 16
    coarse_pool: bool = False

    def __post_init__(self) -> None:
        if self.resolution % 4 or not 8 <= self.resolution <= 32:
            raise ConfigError(
                f"stage-1 networks need a resolution that is a multiple of 4 in "
                f"[8, 32], got {self.resolution}"
            )
        if self.channels not in (1, 3):
            raise ConfigError(f"stage-1 networks need 1 or 3 channels, got {self.channels}")
        if self.bits < 1 or self.fine_dim < 1 or self.width < 4:
            raise ConfigError(
                f"stage-1 network sizes must be positive (bits {self.bits}, "
                f"fine_dim {self.fine_dim}, width {self.width} >= 4)"
            )

    @property
    def base(self) -> int:
        """Side of the coarsest grid."""
        return self.resolution // 4

    @property
    def latent_dim(self) -> int:
        return self.bits + self.fine_dim


def _groups(channels: int) -> int:
    return max(1, min(8, channels // 4))


class FiLMBlock(nn.Module):
    """conv 3x3 -> GroupNorm (no affine) -> scale/shift from z_f -> ReLU.

    The per-block scale/shift from the fine latent is the "style-like" modulation of the design:
    z_f changes how things look at every resolution but never enters the coarse layout.
    The FiLM layer keeps PyTorch's default init: a zero init (start as plain GroupNorm) left
    G ignoring z_f on digits (fine regression loss ~1.0, the prior's variance, after 900
    steps; 0.55 after 600 with the default init), i.e. one image per code.
    """

    def __init__(self, c_in: int, c_out: int, fine_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = nn.GroupNorm(_groups(c_out), c_out, affine=False)
        self.film = nn.Linear(fine_dim, 2 * c_out)

    def forward(self, h: torch.Tensor, z_f: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(z_f)[:, :, None, None].chunk(2, dim=1)
        return F.relu(self.norm(self.conv(h)) * (1 + scale) + shift)


class Generator(nn.Module):
    """G(z_c, z_f) -> x (B, C, H, W) in [-1, 1].

    The coarse latent enters once, at the coarsest grid, as (sign(z_c), z_c): the bit-code is
    discrete, and giving G the sign explicitly lets it place a class boundary exactly at
    z_c,i = 0 instead of learning a steep continuous one. The fine latent modulates every block.
    """

    def __init__(self, config: Stage1NetConfig) -> None:
        super().__init__()
        self.config = config
        w, b = config.width, config.base
        self.coarse = nn.Linear(2 * config.bits, 2 * w * b * b)
        self.blocks = nn.ModuleList(
            [
                FiLMBlock(2 * w, 2 * w, config.fine_dim),  # base grid
                FiLMBlock(2 * w, w, config.fine_dim),  # 2x
                FiLMBlock(w, w, config.fine_dim),  # 4x = resolution
            ]
        )
        self.to_image = nn.Conv2d(w, config.channels, 3, padding=1)

    def forward(self, z_c: torch.Tensor, z_f: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        b = torch.where(z_c >= 0, 1.0, -1.0)
        h = self.coarse(torch.cat([b, z_c], dim=1)).view(-1, 2 * cfg.width, cfg.base, cfg.base)
        for i, block in enumerate(self.blocks):
            if i > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = block(h, z_f)
        return torch.tanh(self.to_image(h))


def _image_trunk(config: Stage1NetConfig, sn: bool) -> nn.Sequential:
    """Conv stack (B, C, R, R) -> (B, 2w * (R/4)**2); spectral norm on every layer if `sn`."""
    w = config.width
    wrap = spectral_norm if sn else (lambda m: m)
    return nn.Sequential(
        wrap(nn.Conv2d(config.channels, w, 3, padding=1)),
        nn.LeakyReLU(0.2),
        wrap(nn.Conv2d(w, w, 4, stride=2, padding=1)),
        nn.LeakyReLU(0.2),
        wrap(nn.Conv2d(w, 2 * w, 3, padding=1)),
        nn.LeakyReLU(0.2),
        wrap(nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1)),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
    )


class Encoder(nn.Module):
    """E(x) -> (z_c_hat (B, K), z_f_hat (B, D)); x (B, C, H, W) in [-1, 1].

    sign(z_c_hat) is the bit-code of a real image: the label-free clustering of the data.
    With `coarse_pool`, z_c_hat comes from the spatial mean of the last feature map, so the
    code cannot follow position. Without it, codes of the shapes set follow position (NMI of
    the code with x or y ~0.3, with the shape ~0.01), and shift augmentation alone did not stop
    that; with it, a tiny model's codes follow the shape. On digits (centred, where position is
    no nuisance) it stopped the bits from being learned at all within 900 steps (bit recovery
    0.49), so it is off by default. z_f_hat always sees the whole map.
    """

    def __init__(self, config: Stage1NetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.trunk = _image_trunk(config, sn=True)
        self.coarse = coarse_head(config)
        self.fine = nn.Sequential(
            spectral_norm(nn.Linear(2 * w * config.base**2, 4 * w)),
            nn.LeakyReLU(0.2),
            nn.Linear(4 * w, config.fine_dim),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        coarse, fine, _ = self.read(x)
        return coarse, fine

    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_c_hat, z_f_hat, the trunk features the coarse head reads): a candidate coarse
        head (`coarse_head`) reads the same features."""
        h = self.trunk(x)  # (B, 2w * base**2), channel-major
        c = h.view(len(h), 2 * self.config.width, -1).mean(dim=2) if self.config.coarse_pool else h
        return self.coarse(c), self.fine(h), c


def coarse_head(config: Stage1NetConfig) -> nn.Sequential:
    """An encoder's coarse head: what it reads of the trunk -> z_c_hat (B, K)."""
    w = config.width
    return nn.Sequential(
        spectral_norm(nn.Linear(2 * w if config.coarse_pool else 2 * w * config.base**2, 4 * w)),
        nn.LeakyReLU(0.2),
        nn.Linear(4 * w, config.bits),
    )


class Discriminator(nn.Module):
    """Joint D(x, z) -> (B,) score: real pairs (x, E(x)) against generated pairs (G(z), z).

    An image branch and a latent branch (both spectrally normalised) are joined by
    concatenation and a small MLP; unary terms on each branch alone let D also judge the
    image and latent marginals directly, which speeds up the start of training.
    """

    def __init__(self, config: Stage1NetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        feat = 2 * w * config.base**2
        self.image = nn.Sequential(
            _image_trunk(config, sn=True), spectral_norm(nn.Linear(feat, 4 * w)), nn.LeakyReLU(0.2)
        )
        self.latent = nn.Sequential(
            spectral_norm(nn.Linear(config.latent_dim, 4 * w)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(4 * w, 4 * w)),
            nn.LeakyReLU(0.2),
        )
        self.joint = nn.Sequential(
            spectral_norm(nn.Linear(8 * w, 4 * w)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Linear(4 * w, 1)),
        )
        self.image_out = spectral_norm(nn.Linear(4 * w, 1))
        self.latent_out = spectral_norm(nn.Linear(4 * w, 1))

    def forward(self, x: torch.Tensor, z_c: torch.Tensor, z_f: torch.Tensor) -> torch.Tensor:
        hx = self.image(x)
        hz = self.latent(torch.cat([z_c, z_f], dim=1))
        out = self.joint(torch.cat([hx, hz], dim=1)) + self.image_out(hx) + self.latent_out(hz)
        return out.squeeze(1)
