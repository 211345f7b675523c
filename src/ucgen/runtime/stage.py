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


class TrainingStage(Protocol):
    name: str  # folder name under checkpoints/, e.g. "stage1", "diffusion"
    batch_size: int
    total_steps: int

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One optimisation step on a batch (B, C, H, W) in [-1, 1]; returns scalar losses.

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
