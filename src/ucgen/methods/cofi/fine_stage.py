"""Train CoFi-UCGen's fine encoder through the diffusion loss (`cofi.fine_encoder_steps`).

A fine vector is only useful if it says something about the image and the HM-UNet uses it.
The stage-1 encoder's fine head guarantees neither (it learns to read back the GAN
generator's input, on a trunk frozen for the bit-codes). This stage trains a fine encoder F
(`ucgen.models.fine_encoder`) jointly with an auxiliary UNet on the EDM loss, the UNet given
the image's frozen stage-1 bit-code and F(x) as the HM-UNet will be (the diffusion section's
architecture and fine schedule): the diffusion-autoencoder recipe
(Preechakul et al. 2022), with the code as a second input so that F encodes what the code does
not. Nothing pulls F(x) towards zero: a penalty on mean(F(x)^2) (weight 0.01) starved all but
its strongest few directions (bench/results/fine_control.md). The auxiliary UNet is
the HM-UNet's starting point: the fine basis is fitted on F(x), and the HM-UNet, started from
the auxiliary UNet's weights, goes on training on F-space vectors (the basis maps a
condition's coefficients there), with condition dropout and EMA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ucgen.data import to_uint8
from ucgen.diffusion.edm import EDM
from ucgen.diffusion.pipeline import generate
from ucgen.errors import CheckpointError
from ucgen.io.checkpoint import load_into, load_state, save_component
from ucgen.methods.cofi.bitcodes import signs
from ucgen.models.condition import Condition
from ucgen.models.fine_encoder import FineEncoderConfig, FineEncoderNet
from ucgen.models.hm_unet import HMUNet, HMUNetConfig
from ucgen.models.stage1 import Encoder
from ucgen.runtime import distributed as dist
from ucgen.runtime.checkpoints import latest_checkpoint

ENCODER_FOLDER = "encoder"
PREVIEW = 8


class FineEncoderStage:
    """TrainingStage of F and the auxiliary UNet (Adam on the EDM loss).

    coarse: the frozen stage-1 encoder (its bits are the UNet's coarse condition).
    unet: the auxiliary UNet's architecture (coarse_dim = bits, fine_dim = D).
    """

    name = "fine-encoder"

    def __init__(
        self,
        steps: int,
        batch_size: int,
        lr: float,
        encoder: FineEncoderConfig,
        unet: HMUNetConfig,
        coarse: Encoder,
        device: torch.device | str = "cpu",
    ) -> None:
        self.batch_size = batch_size
        self.total_steps = steps
        self.device = torch.device(device)
        self.encoder_config = encoder
        self.coarse = coarse.to(self.device).eval().requires_grad_(False)
        self.encoder = FineEncoderNet(encoder).to(self.device)
        self.unet = HMUNet(unet).to(self.device)
        self.edm = EDM()
        self.optimizer = torch.optim.Adam(
            [*self.encoder.parameters(), *self.unet.parameters()], lr=lr, fused=True
        )
        self._preview_images: torch.Tensor | None = None

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step on a batch (B, C, H, W) in [-1, 1]; labels ignored."""
        self.encoder.train()
        self.unet.train()
        with torch.no_grad():
            coarse = signs(self.coarse(images)[0])
        fine = self.encoder(images)

        def net(x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
            return self.unet(x, c_noise, coarse, fine)

        loss = self.edm.loss(net, images).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        dist.sync_gradients([*self.encoder.parameters(), *self.unet.parameters()])
        self.optimizer.step()
        self._preview_images = images[:PREVIEW].detach()
        return {"loss": loss.item(), "fine_rms": fine.detach().float().pow(2).mean().sqrt().item()}

    def networks(self) -> list[torch.nn.Module]:
        return [self.encoder, self.unet]

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer]

    def state_dict(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder.state_dict(),
            "unet": self.unet.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_into(self.encoder, state["encoder"], "fine-encoder training state (encoder)")
        load_into(self.unet, state["unet"], "fine-encoder training state (unet)")
        self.optimizer.load_state_dict(state["optimizer"])

    @staticmethod
    def trained_unet(stage_folder: Path) -> dict[str, torch.Tensor]:
        """The auxiliary UNet's weights from the stage's last complete training state (the
        HM-UNet's starting point)."""
        latest = latest_checkpoint(stage_folder)
        if latest is None:
            raise CheckpointError(f"no complete fine-encoder checkpoint in {stage_folder}")
        return load_state(latest / "state.pt")["stage"]["unet"]

    def save(self, folder: Path) -> None:
        """F as folder/encoder/{config.json, model.safetensors}."""
        save_component(self.encoder, self.encoder_config, Path(folder) / ENCODER_FOLDER)

    @torch.no_grad()
    def preview(self, generator: torch.Generator) -> np.ndarray:
        """The last batch's first images, then each regenerated from its code and F(x)."""
        if self._preview_images is None:
            c, r = self.encoder_config.channels, self.encoder_config.resolution
            return np.zeros((1, r, r, c), np.uint8)
        x = self._preview_images
        self.encoder.eval()
        self.unet.eval()
        cond = Condition(signs(self.coarse(x)[0]), self.encoder(x))
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        out = generate(self.unet, cond, len(x), seed, steps=12)
        return np.concatenate([to_uint8(x.cpu()), to_uint8(out)])
