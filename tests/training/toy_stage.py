"""A minimal TrainingStage for loop tests: a denoising linear autoencoder (uses the RNG)."""

from pathlib import Path

import numpy as np
import torch

from ucgen.data import to_uint8
from ucgen.io.checkpoint import save_weights
from ucgen.runtime import distributed as dist


class ToyStage:
    name = "toy"

    def __init__(
        self,
        shape,
        total_steps=10,
        batch_size=8,
        lr=1e-2,
        blow_up_at=None,
        noise=0.1,
        blow_up_once=False,
        collapse=False,
    ):
        torch.manual_seed(123)
        c, h, w = shape
        self.shape = shape
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(c * h * w, c * h * w))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.blow_up_at = blow_up_at
        self.noise = noise
        self.blow_up_once = blow_up_once
        self.collapse = collapse

    def train_step(self, images, labels, step):
        noisy = images + self.noise * torch.randn_like(images) if self.noise else images
        loss = (self.net(noisy) - images.flatten(1)).pow(2).mean()
        if self.blow_up_at is not None and step >= self.blow_up_at:
            loss = loss * float("nan")
            if self.blow_up_once:
                self.blow_up_at = None
        self.opt.zero_grad()
        loss.backward()
        dist.sync_gradients(self.net.parameters())
        self.opt.step()
        return {"loss": loss.item(), **({"collapse": 1.0} if self.collapse else {})}

    def networks(self):
        return [self.net]

    def optimizers(self):
        return [self.opt]

    def state_dict(self):
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])

    def save(self, folder: Path):
        save_weights(self.net, folder / "model.safetensors")

    def preview(self, generator) -> np.ndarray:
        x = torch.rand((4, *self.shape), generator=generator) * 2 - 1
        return to_uint8(x)
