"""HM-UNet: the pixel generator of every method, with layer-wise coarse-to-fine modulation.

This is the raw network F of EDM (`ucgen.diffusion.edm`): it sees c_in * x and c_noise and knows
nothing about noise schedules. Every residual block is modulated (AdaGN: GroupNorm, then
`(1 + scale) * h + shift`) by the time embedding plus a *level-specific* condition embedding:

- levels are counted by resolution from the bottom, l = 0 .. L-1 (l = L-1 is the input
  resolution); the down and up level of resolution l both see coarse + the first
  n_l = ceil(D * l / (L - 1)) fine coefficients (`HMUNetConfig.fine_prefix`), so the
  lowest-resolution level (down and up) sees coarse only and the highest sees all D;
- the middle blocks (lowest resolution) see coarse only.

This is the design's rule for the HM-UNet read literally: the lowest-resolution levels see
only the bit-code, each higher-resolution level the bit-code plus a longer prefix of the fine
basis, which is ordered by variance, so a prefix holds its strongest directions. What it does
*not* give: the fine condition fed to a high-resolution down block flows on into the
lower-resolution features, so the lowest-resolution activations do depend on fine (through the
input they receive); only the modulation of the lowest level and the middle is fine-free. (An
earlier rule kept the whole down path fine-free, which made the lowest-resolution activations
exactly fine-independent; trained on digits, its UNet nearly ignored the fine vector, see
bench/results/hm_unet_fine_schedule.md.) `fine_schedule = "flat"` is the ablation: every
block, the middle included, sees coarse + all D. `"graded"` keeps the prefixes growing with
resolution but starts them one step up: n_l = ceil(D * (l + 1) / L), the lowest level and the
middle seeing the strongest ceil(D / L) directions, so the global layout the lowest level sets
can follow the image's fine vector too (bench/results/fine_control.md: with the fine-free
bottom an image regenerated from its own vector is barely closer to it than to others).

Prefixes are masks over one (D,)-vector, so the network is one set of batched projections.
A dropped condition is replaced by a learned per-level "null" embedding. Dropping coarse drops
fine as well: classifier-free guidance needs exactly three predictions, unconditional,
coarse-only and full, nested as uncond < coarse < coarse + fine; a fine-without-coarse
prediction is never used, so training does not spend capacity on it.

coarse_dim = fine_dim = 0 gives the plain unconditional UNet; fine_dim = 0 serves the label
oracle (one-hot coarse, added to the time embedding at every level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ucgen.errors import ConfigError
from ucgen.io.checkpoint import load_component

FineSchedule = Literal["progressive", "graded", "flat"]


@dataclass
class HMUNetConfig:
    """Architecture of an HM-UNet; saved as the component's config.json.

    in_channels: image channels C; resolution: H = W, divisible by 2^(len(channel_mult) - 1).
    width: channels at the highest resolution; level i has width * channel_mult[i] channels.
    num_res_blocks: residual blocks per level on each of the down and up paths.
    attention: one self-attention layer in the middle (lowest resolution), cheap at 7x7.
    coarse_dim: Kc, size of Condition.coarse (0 = none); fine_dim: D of Condition.fine (0 = none).
    fine_schedule: "progressive" (HM-UNet) or "flat" (ablation: all blocks see all conditions).
    """

    in_channels: int = 1
    resolution: int = 28
    width: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1
    attention: bool = False
    coarse_dim: int = 0
    fine_dim: int = 0
    fine_schedule: FineSchedule = "progressive"

    def check(self) -> HMUNetConfig:
        """Validate, naming the bad key; returns self."""

        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ConfigError(f"HMUNetConfig.{msg}")

        need(self.in_channels >= 1, f"in_channels must be >= 1, got {self.in_channels}")
        need(self.width >= 4, f"width must be >= 4, got {self.width}")
        need(
            len(self.channel_mult) >= 1 and all(m >= 1 for m in self.channel_mult),
            f"channel_mult must be positive integers, got {self.channel_mult}",
        )
        need(self.num_res_blocks >= 1, f"num_res_blocks must be >= 1, got {self.num_res_blocks}")
        down = 2 ** (len(self.channel_mult) - 1)
        need(
            self.resolution >= down and self.resolution % down == 0,
            f"resolution {self.resolution} must be divisible by {down} "
            f"(2^(levels-1) for {len(self.channel_mult)} levels)",
        )
        need(self.coarse_dim >= 0, f"coarse_dim must be >= 0, got {self.coarse_dim}")
        need(self.fine_dim >= 0, f"fine_dim must be >= 0, got {self.fine_dim}")
        need(
            self.fine_dim == 0 or self.coarse_dim > 0,
            "fine_dim > 0 needs coarse_dim > 0: fine refines a coarse condition",
        )
        need(
            self.fine_dim == 0 or self.fine_schedule == "flat" or len(self.channel_mult) >= 2,
            "a progressive fine schedule needs at least 2 levels in channel_mult",
        )
        need(
            self.fine_schedule in ("progressive", "graded", "flat"),
            f"fine_schedule must be 'progressive', 'graded' or 'flat', got {self.fine_schedule!r}",
        )
        return self

    @property
    def levels(self) -> int:
        return len(self.channel_mult)

    def fine_prefix(self, level: int) -> int:
        """n_l: how many fine coefficients the down and the up level of resolution `level` see.

        `level` counts resolutions from the bottom: 0 = lowest (coarse only), L-1 = the input
        resolution (all D). "graded": ceil(D (l + 1) / L), the lowest level the first ceil(D / L).
        "flat": every level sees all D.
        """
        if self.fine_schedule == "flat":
            return self.fine_dim
        if self.fine_schedule == "graded":
            return math.ceil(self.fine_dim * (level + 1) / self.levels)
        return math.ceil(self.fine_dim * level / (self.levels - 1)) if self.levels > 1 else 0

    def slot_prefixes(self) -> list[int]:
        """Fine prefix of every condition slot, in forward order: down levels (high -> low
        resolution), middle, up levels (low -> high); length 2L + 1."""
        n = self.levels
        middle = 0 if self.fine_schedule == "progressive" else self.fine_prefix(0)
        down = [self.fine_prefix(n - 1 - i) for i in range(n)]
        return down + [middle] + [self.fine_prefix(j) for j in range(n)]


def _groups(channels: int) -> int:
    """GroupNorm groups: up to 32, at least 4 channels per group where possible."""
    g = min(32, max(1, channels // 4))
    while channels % g:
        g -= 1
    return g


class ResBlock(nn.Module):
    """Residual block with AdaGN modulation from a per-block projection of the embedding.

    x: (B, Cin, H, W), emb: (B, E) -> (B, Cout, H, W). The second conv starts at zero, so a
    fresh block is the identity (or its 1x1 skip) and deep nets train stably.
    """

    def __init__(self, cin: int, cout: int, emb_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.modulation = nn.Linear(emb_dim, 2 * cout)
        self.norm2 = nn.GroupNorm(_groups(cout), cout, affine=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.modulation(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class Attention(nn.Module):
    """Single-head self-attention over the H*W positions, residual; (B, C, H, W) -> same."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, HW, C)
        return x + self.out(y.transpose(-1, -2).reshape(b, c, h, w))


class Level(nn.Module):
    """The residual blocks of one resolution level of one path, sharing one condition slot."""

    def __init__(self, cins: list[int], cout: int, emb_dim: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(cin, cout, emb_dim) for cin in cins)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, emb)
        return x


class HMUNet(nn.Module):
    """The HM-UNet (see the module docstring). Build with `HMUNet(HMUNetConfig(...))`.

    forward(x, c_noise, coarse, fine, keep_coarse, keep_fine) -> F(x), (B, C, H, W).
    """

    def __init__(self, config: HMUNetConfig) -> None:
        super().__init__()
        self.config = config.check()
        c = config
        chans = [c.width * m for m in c.channel_mult]
        emb = 4 * c.width
        self.emb_dim = emb
        # Sinusoidal features of c_noise = ln(sigma)/4, which spans only about [-1.6, 1.1]:
        # frequencies from 1 to 100 resolve it finely (EDM scales it up the same way).
        half = c.width // 2
        self.time_mlp = nn.Sequential(
            nn.Linear(2 * half, emb), nn.SiLU(), nn.Linear(emb, emb), nn.SiLU()
        )
        self.register_buffer(
            "freqs",
            torch.logspace(0, 2, half),
            persistent=False,
        )

        # Condition slots: [down level 0..L-1 (high -> low res), middle, up level L-1..0].
        # Slot order follows the forward pass; `fine_mask[g]` is the prefix slot g sees.
        n_levels = c.levels
        self.slots = 2 * n_levels + 1
        prefix = torch.tensor(c.slot_prefixes())
        self.register_buffer(
            "fine_mask",
            (torch.arange(c.fine_dim)[None, :] < prefix[:, None]).float(),
            persistent=False,
        )
        if c.coarse_dim:
            self.coarse_proj = nn.Parameter(torch.randn(self.slots, c.coarse_dim, emb) * 0.02)
            self.coarse_bias = nn.Parameter(torch.zeros(self.slots, emb))
            self.coarse_null = nn.Parameter(torch.zeros(self.slots, emb))
        if c.fine_dim:
            self.fine_proj = nn.Parameter(torch.randn(self.slots, c.fine_dim, emb) * 0.02)
            self.fine_null = nn.Parameter(torch.zeros(self.slots, emb))

        self.conv_in = nn.Conv2d(c.in_channels, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        cin = chans[0]
        for i, ch in enumerate(chans):
            self.down.append(Level([cin] + [ch] * (c.num_res_blocks - 1), ch, emb))
            cin = ch
            if i < n_levels - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        self.mid1 = ResBlock(cin, cin, emb)
        self.attn = Attention(cin) if c.attention else None
        self.mid2 = ResBlock(cin, cin, emb)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(n_levels)):
            ch = chans[i]
            self.up.append(Level([cin + ch] + [ch] * (c.num_res_blocks - 1), ch, emb))
            cin = ch
            if i > 0:
                self.upsample.append(nn.Conv2d(ch, chans[i - 1], 3, padding=1))
                cin = chans[i - 1]
        self.norm_out = nn.GroupNorm(_groups(cin), cin)
        self.conv_out = nn.Conv2d(cin, c.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        # NHWC weights, hence NHWC activations: on CPU sampling is as fast or faster than NCHW
        # (bench/bench_sampling.py); on GPUs it is the layout tensor-core convolutions prefer.
        self.to(memory_format=torch.channels_last)

    def embeddings(
        self,
        c_noise: torch.Tensor,
        coarse: torch.Tensor | None,
        fine: torch.Tensor | None,
        keep_coarse: torch.Tensor | None,
        keep_fine: torch.Tensor | None,
    ) -> torch.Tensor:
        """Per-slot embeddings (slots, B, E) = SiLU(time) + level-specific condition."""
        b = c_noise.shape[0]
        cfg = self.config
        for name, value, dim in (("coarse", coarse, cfg.coarse_dim), ("fine", fine, cfg.fine_dim)):
            if value is not None and tuple(value.shape) != (b, dim):
                raise ValueError(
                    f"{name} condition has shape {tuple(value.shape)}, but this UNet takes "
                    f"({b}, {dim})" + (" (it has no such condition)" if dim == 0 else "")
                )
        ang = c_noise.float()[:, None] * self.freqs[None, :]
        t = self.time_mlp(torch.cat([ang.cos(), ang.sin()], dim=1))  # (B, E)
        cond = torch.zeros(b, self.slots, self.emb_dim, device=t.device, dtype=t.dtype)
        if cfg.coarse_dim:
            kc = self._keep(keep_coarse, coarse, b, t)
            if coarse is not None:
                proj = torch.einsum("bk,gke->bge", coarse.to(t.dtype), self.coarse_proj)
                cond = cond + kc * (proj + self.coarse_bias)
            cond = cond + (1 - kc) * self.coarse_null
            if cfg.fine_dim:
                # Dropping coarse drops fine too (nested guidance: uncond < coarse < full).
                kf = kc * self._keep(keep_fine, fine, b, t)
                has = self.fine_mask.any(dim=1).to(t.dtype)[:, None]  # (slots, 1)
                if fine is not None:
                    masked = fine.to(t.dtype)[:, None, :] * self.fine_mask  # (B, slots, D)
                    cond = cond + kf * torch.einsum("bgd,gde->bge", masked, self.fine_proj)
                cond = cond + (1 - kf) * has * self.fine_null
        return (t[:, None, :] + cond).transpose(0, 1)

    @staticmethod
    def _keep(
        keep: torch.Tensor | None, value: torch.Tensor | None, b: int, like: torch.Tensor
    ) -> torch.Tensor:
        """(B, 1, 1) float: 1 where the condition is given and kept, 0 where dropped."""
        if value is None:
            return like.new_zeros(b, 1, 1)
        if keep is None:
            return like.new_ones(b, 1, 1)
        return keep.to(like.dtype).reshape(b, 1, 1)

    def forward(
        self,
        x: torch.Tensor,
        c_noise: torch.Tensor,
        coarse: torch.Tensor | None = None,
        fine: torch.Tensor | None = None,
        keep_coarse: torch.Tensor | None = None,
        keep_fine: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """F(x; c_noise, condition): x (B, C, H, W) preconditioned input, c_noise (B,).

        coarse (B, Kc) and fine (B, D) may be None (= dropped for every image); keep_coarse and
        keep_fine (B,) bool/float drop them per image (1 keep, 0 drop). Dropping coarse drops
        fine. Returns (B, C, H, W).
        """
        emb = self.embeddings(c_noise, coarse, fine, keep_coarse, keep_fine)
        n = self.config.levels
        h = self.conv_in(x)  # channels_last weights make every activation channels_last
        skips = []
        for i, level in enumerate(self.down):
            h = level(h, emb[i])
            skips.append(h)
            if i < n - 1:
                h = self.downsample[i](h)
        h = self.mid1(h, emb[n])
        if self.attn is not None:
            h = self.attn(h)
        h = self.mid2(h, emb[n])
        for j, level in enumerate(self.up):
            h = level(torch.cat([h, skips.pop()], dim=1), emb[n + 1 + j])
            if j < n - 1:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
                h = self.upsample[j](h)
        return self.conv_out(F.silu(self.norm_out(h)))


def load_unet(folder: Path) -> HMUNet:
    """An HM-UNet saved with `save_component` (config.json + model.safetensors), strictly."""
    return load_component(HMUNet, HMUNetConfig, folder)
