"""Stage 2 of every method: train the (HM-)UNet pixel generator with the EDM loss.

The stage does not know which method it serves: the method supplies `condition_fn`
(images, labels) -> Condition (the frozen CoFi encoder, one-hot labels for the oracle, None for
unconditional) and a draw of preview conditions. Conditions are dropped at random
(coarse with probability drop_coarse, taking fine with it; otherwise fine alone with
probability drop_fine) so that one network also predicts unconditionally and coarse-only for
classifier-free guidance. Sampling uses an EMA of the weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ucgen.config.schema import DiffusionConfig, Solver
from ucgen.data import to_uint8
from ucgen.diffusion.edm import EDM
from ucgen.diffusion.pipeline import generate
from ucgen.io.checkpoint import load_into, save_component
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet, HMUNetConfig
from ucgen.runtime.stage import OneNetworkStage

ConditionFn = Callable[[torch.Tensor, torch.Tensor | None], Condition]
PreviewConditions = Callable[[int, torch.Generator], Condition]


def unet_config(
    config: DiffusionConfig,
    in_channels: int,
    resolution: int,
    coarse_dim: int = 0,
    fine_dim: int = 0,
) -> HMUNetConfig:
    """The UNet architecture from the run's diffusion section and the method's condition sizes."""
    return HMUNetConfig(
        in_channels=in_channels,
        resolution=resolution,
        width=config.width,
        channel_mult=tuple(config.channel_mult),
        num_res_blocks=config.num_res_blocks,
        attention=config.attention,
        coarse_dim=coarse_dim,
        fine_dim=fine_dim,
        fine_schedule=config.fine_schedule,
    ).check()


class DiffusionStage(OneNetworkStage):
    """TrainingStage for the pixel generator: Adam on the EDM loss, EMA weights for sampling.

    condition_fn: (images (B, C, H, W) in [-1, 1], labels (B,) or None) -> Condition, or None
    for an unconditional UNet. It runs under no_grad (the encoder is frozen).
    preview_conditions(n, generator) -> n preview conditions (None: unconditional previews).
    init: weights to start from instead of a fresh UNet's (loaded strictly).
    """

    name = "diffusion"
    state_name = "diffusion training state"

    def __init__(
        self,
        config: DiffusionConfig,
        unet: HMUNetConfig,
        condition_fn: ConditionFn | None = None,
        preview_conditions: PreviewConditions | None = None,
        device: torch.device | str = "cpu",
        preview_steps: int = 18,
        preview_count: int = 16,
        preview_solver: Solver = "heun",
        preview_rho: float = 7.0,
        init: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.config = config
        self.unet_config = unet
        self.batch_size = config.batch_size
        self.total_steps = config.steps
        self.condition_fn = condition_fn
        self.preview_conditions = preview_conditions
        self.preview_steps = preview_steps
        self.preview_solver = preview_solver
        self.preview_edm = EDM(rho=preview_rho)
        self.preview_count = preview_count
        self.edm = EDM()
        self.model = HMUNet(unet)
        if init is not None:
            load_into(self.model, init, "the HM-UNet's initial weights")
        self.model.to(device)
        self.ema = copy.deepcopy(self.model).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, fused=True)
        self.step = 0

    def _drop_masks(self, b: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """keep_coarse, keep_fine (B,) floats; a dropped coarse also drops fine (see HMUNet)."""
        keep_coarse = (torch.rand(b, device=device) >= self.config.drop_coarse).float()
        keep_fine = (torch.rand(b, device=device) >= self.config.drop_fine).float()
        return keep_coarse, keep_coarse * keep_fine

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step on the EDM loss (eq. 8) of a batch (B, C, H, W) in [-1, 1]."""
        self.model.train()
        cond = Condition()
        if self.condition_fn is not None:
            with torch.no_grad():
                cond = self.condition_fn(images, labels)
        keep_coarse, keep_fine = self._drop_masks(images.shape[0], images.device)

        def net(x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
            return self.model(x, c_noise, cond.coarse, cond.fine, keep_coarse, keep_fine)

        loss = self.edm.loss(net, images).mean()
        self.optimise(loss, step, self.config.ema)
        return {"loss": loss.item()}

    def save(self, folder: Path) -> None:
        """The EMA UNet as folder/{config.json, model.safetensors} (`load_unet` reads it)."""
        save_component(self.ema, self.unet_config, Path(folder))

    def preview(self, generator: torch.Generator) -> np.ndarray:
        """`preview_count` EMA samples (N, H, W, C) uint8 (`preview_images`)."""
        return preview_images(
            self.ema,
            self.preview_conditions,
            self.preview_count,
            generator,
            self.preview_steps,
            self.preview_edm,
            self.preview_solver,
        )


def preview_images(
    unet: HMUNet,
    conditions: PreviewConditions | None,
    count: int,
    generator: torch.Generator,
    steps: int,
    edm: EDM,
    solver: Solver,
) -> np.ndarray:
    """`count` samples (N, H, W, C) uint8 of `unet` (unguided) for a training preview; the same
    generator gives the same conditions and noise, so previews along training are comparable."""
    seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
    cond = None if conditions is None else conditions(count, generator)
    unet.eval()
    images = generate(unet, cond, count, seed, steps=steps, edm=edm, solver=solver)
    return to_uint8(images)
