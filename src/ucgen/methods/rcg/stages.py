"""RCG's two semantic stages, as `TrainingStage`s of the one training loop.

`RepEncoderStage`: the self-supervised encoder, SimCLR-style: two augmented views of every
image, InfoNCE over the batch (`ucgen.models.rep_encoder.info_nce`) on the standardised
projector outputs (the representation RCG conditions on). Under torchrun each rank contrasts
its own shard (negatives are local), and gradients are averaged as everywhere.

`RDMStage`: the representation diffusion model, EDM's loss on the frozen encoder's
representations, with an EMA copy for sampling. RCG computes them on the fly for every batch;
without augmentation they are the same at every step, so here they are computed once for the
whole data set (`inputs`; what that saves: bench/results/rcg_parts.md).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from ucgen.data import to_uint8
from ucgen.diffusion.edm import EDM
from ucgen.io.checkpoint import save_component
from ucgen.methods.cofi.losses import augment_with
from ucgen.methods.rcg.config import RCGConfig
from ucgen.models.rdm import RDM, RDMConfig
from ucgen.models.rep_encoder import RepEncoder, RepEncoderConfig, info_nce, standardise
from ucgen.runtime.seeds import image_generator
from ucgen.runtime.stage import OneNetworkStage

# Representations are standardised per sample: unit scale, so EDM's sigma_data is 1.
REP_EDM = EDM(sigma_data=1.0)
REP_NOISE_STREAM = 3  # per-row random stream of a representation's starting noise
ENCODE_BATCH = 1024  # images the RDM stage encodes at once


def two_views(options: RCGConfig, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent augmentations of a batch (B, C, H, W) in [-1, 1] (global RNG)."""

    return augment_with(x, options), augment_with(x, options)


class RepEncoderStage(OneNetworkStage):
    """Trains `RepEncoder` with InfoNCE between two views; saves it as component "encoder"."""

    name = "rep-encoder"
    state_name = "rep-encoder training state"

    def __init__(
        self, options: RCGConfig, channels: int, resolution: int, device: torch.device | str
    ) -> None:
        self.options = options
        self.batch_size = options.encoder_batch
        self.total_steps = options.encoder_steps
        self.device = torch.device(device)
        self.config = RepEncoderConfig(
            channels, resolution, options.encoder_width, options.encoder_hidden, options.rep_dim
        )
        self.model = RepEncoder(self.config).to(self.device)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=options.encoder_lr, fused=True
        )
        self._views: tuple[torch.Tensor, torch.Tensor] | None = None

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step on InfoNCE of two views of images (B, C, H, W); labels ignored.
        view_accuracy: the share of views whose most similar other view is their twin."""
        self.model.train()
        a, b = two_views(self.options, images.to(self.device))
        z = self.model.represent(torch.cat([a, b]))
        loss, accuracy = info_nce(*z.chunk(2), self.options.temperature)
        self.optimise(loss, step)
        self._views = (a[:8].detach(), b[:8].detach())
        return {"infonce": loss.item(), "view_accuracy": accuracy}

    def save(self, folder: Path) -> None:
        save_component(self.model, self.config, Path(folder) / "encoder")

    def preview(self, generator: torch.Generator) -> np.ndarray:
        """The last batch's first views above their twins: (2n, H, W, C) uint8."""
        if self._views is None:
            c, h = self.config.channels, self.config.resolution
            return np.zeros((1, h, h, c), np.uint8)
        return to_uint8(torch.cat(self._views).float())


def sample_representations(
    rdm: RDM, n: int, seed: int, steps: int, offset: int = 0
) -> torch.Tensor:
    """n representations (n, D) on the CPU from the RDM with EDM's Heun sampler; row j starts
    from noise that depends only on (seed, offset + j)."""
    device = next(rdm.parameters()).device
    d = rdm.config.dim
    noise = torch.stack(
        [
            torch.randn(d, generator=image_generator(seed, offset + j, REP_NOISE_STREAM))
            for j in range(n)
        ]
    ).to(device)
    with torch.inference_mode():
        out = REP_EDM.heun_sample(lambda x, s: REP_EDM.denoise(rdm, x, s), noise, steps)
    return out.float().cpu()


class RDMStage(OneNetworkStage):
    """Trains the RDM on a frozen encoder's representations of the images; saves the EMA
    RDM as component "rdm"."""

    name = "rdm"
    state_name = "rdm training state"

    def __init__(self, options: RCGConfig, encoder: RepEncoder, device: torch.device | str) -> None:
        self.options = options
        self.batch_size = options.rdm_batch
        self.total_steps = options.rdm_steps
        self.device = torch.device(device)
        self.encoder = encoder.eval().requires_grad_(False)
        self.config = RDMConfig(encoder.config.dim, options.rdm_width, options.rdm_blocks)
        self.model = RDM(self.config).to(device)
        self.ema = copy.deepcopy(self.model).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=options.rdm_lr, fused=True)
        self.step = 0

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's representations (N, D), on the stage's device, of all the images
        (N, C, H, W) in [-1, 1]."""
        with torch.no_grad():
            return torch.cat(
                [self.encoder.represent(x.to(self.device)) for x in images.split(ENCODE_BATCH)]
            )

    def train_step(
        self, r: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step on EDM's loss (eq. 8) of a batch of representations (B, D)."""
        self.model.train()
        loss = REP_EDM.loss(self.model, r).mean()
        self.optimise(loss, step, self.options.rdm_ema)
        return {"loss": loss.item()}

    def save(self, folder: Path) -> None:
        save_component(self.ema, self.config, Path(folder) / "rdm")

    def preview(self, generator: torch.Generator) -> np.ndarray:
        """16 EMA samples as one grey picture, a row each (1, 16, D, 1) uint8, values -3..3
        mapped to 0..255 (a representation is standardised per sample)."""
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        r = sample_representations(self.ema.eval(), 16, seed, self.options.rdm_sample_steps)
        r = standardise(r)
        return ((r.clamp(-3, 3) + 3) / 6 * 255).round().to(torch.uint8).numpy()[None, ..., None]
