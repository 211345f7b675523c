"""The interface between one training stage (GAN stage 1, diffusion stage 2, RDM, ...) and
the single training loop in `ucgen.training.loop`.

A stage owns its networks, optimisers and EMA; the loop owns data order, logging,
checkpoints, resume, divergence checks and distribution. So no method has its own loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ucgen.io.checkpoint import load_into
from ucgen.runtime import distributed as dist
from ucgen.runtime.ema import ema_decay, update_ema


class TrainingStage(Protocol):
    """A stage may also define `inputs(images (N, C, H, W)) -> tensor (N, ...)`: what its
    `train_step` is given batches of instead of the images, computed once by the loop before
    the first step (the RDM's frozen encoder would give each image the same representation at
    every step)."""

    name: str  # folder name under checkpoints/, e.g. "stage1", "diffusion"
    batch_size: int
    total_steps: int

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One optimisation step on a batch (B, C, H, W) in [-1, 1] (or of the stage's
        `inputs`); returns scalar losses.

        labels are passed only to the label-oracle baseline; every other stage ignores them.
        A stage that can tell its training has collapsed (e.g. every image in one code)
        returns "collapse": 1.0 for that batch; the loop's divergence guard acts on it.
        """
        ...

    def networks(self) -> list[torch.nn.Module]:
        """The networks `train_step` trains (not EMA copies): the loop applies the speed
        options (layout, torch.compile) to them, in place."""
        ...

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """The stage's optimisers (the divergence guard lowers their learning rates)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: weights, EMA, optimiser states (tensors and numbers)."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    def save(self, folder: Path) -> None:
        """Save the inference components (EMA weights) as safetensors + config.json."""
        ...

    def preview(self, generator: torch.Generator) -> np.ndarray:
        """A few generated images (N, H, W, C) uint8 to look at during training."""
        ...


class OneNetworkStage:
    """The plumbing of a stage that trains one network `model` with one `optimizer` and may
    keep `ema`, its moving average: the optimiser step, `networks`, `optimizers` and the
    training state as plain dicts. A subclass sets `model`, `optimizer`, `ema` (None for
    none) and `state_name` (names the state in load errors); `step` counts EMA updates."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    ema: torch.nn.Module | None = None
    state_name: str = "training state"
    step: int = 0

    def optimise(self, loss: torch.Tensor, step: int, ema_target: float = 0.0) -> None:
        """Backward, gradient all-reduce, one optimiser step on `loss`; then, with an EMA
        copy, step `step + 1` of its warmed-up average (`ema.ema_decay`)."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        dist.sync_gradients(self.model.parameters())
        self.optimizer.step()
        if self.ema is not None:
            self.step = step + 1
            update_ema(self.ema, self.model, ema_decay(self.step, ema_target))

    def networks(self) -> list[torch.nn.Module]:
        return [self.model]

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer]

    def state_dict(self) -> dict[str, Any]:
        """Weights and optimiser state; with an EMA copy also its weights and the step."""
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.ema is not None:
            state |= {"ema": self.ema.state_dict(), "step": self.step}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from `state_dict()`; a weight mismatch is a CheckpointError."""
        load_into(self.model, state["model"], f"{self.state_name} (model)")
        if self.ema is not None:
            load_into(self.ema, state["ema"], f"{self.state_name} (ema)")
            self.step = int(state["step"])
        self.optimizer.load_state_dict(state["optimizer"])
