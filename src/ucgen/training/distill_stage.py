"""Guidance distillation (Meng et al. 2023, "On Distillation of Guided Diffusion Models",
arXiv 2210.03142, stage one at a fixed scale): a student UNet learns in one prediction what the
trained UNet gives with classifier-free guidance in two or three.

The teacher is the pixel stage's EMA UNet, frozen; the student starts as a copy of it. Each
step noises a batch of training images at levels spread log-uniformly over the sampler's range
[sigma_min, sigma_max] (the student must match the teacher wherever a sampler evaluates it,
including the high levels where guidance settles the kind of image, which EDM's training
distribution seldom visits), and the student's conditional denoiser is pulled towards the
teacher's guided one (`guided_denoiser` at the constant scales of `Guidance`) under EDM's
loss weight. Sampling then needs one UNet evaluation per solver evaluation at the distilled
scales, which are saved with the student (`GUIDANCE_FILE`); `DistilledGenerator` leaves other
scales to the teacher.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ucgen.config.schema import Solver
from ucgen.diffusion.edm import EDM
from ucgen.diffusion.pipeline import DiffusionGenerator, SamplerSettings, guided_denoiser
from ucgen.io.atomic import atomic_write_text
from ucgen.io.checkpoint import save_component
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet
from ucgen.runtime.stage import OneNetworkStage
from ucgen.training.diffusion_stage import ConditionFn, PreviewConditions, preview_images

GUIDANCE_FILE = "guidance.json"


@dataclass(frozen=True)
class Guidance:
    """The classifier-free guidance a student is distilled at (`guided_denoiser`'s options)."""

    coarse: float = 1.0
    fine: float = 1.0

    @classmethod
    def read(cls, folder: Path) -> Guidance:
        return cls(**json.loads((Path(folder) / GUIDANCE_FILE).read_text()))


class GuidanceDistillStage(OneNetworkStage):
    """TrainingStage: the student HM-UNet, Adam on its distance to the guided teacher, EMA
    weights saved as component "unet" with the guidance they were distilled at."""

    name = "distill"
    state_name = "guidance distillation state"

    def __init__(
        self,
        teacher: HMUNet,
        guidance: Guidance,
        steps: int,
        batch_size: int,
        lr: float,
        ema: float,
        condition_fn: ConditionFn | None,
        preview_conditions: PreviewConditions | None = None,
        preview_steps: int = 18,
        preview_solver: Solver = "heun",
        preview_rho: float = 7.0,
    ) -> None:
        self.teacher = teacher.eval().requires_grad_(False)
        self.guidance = guidance
        self.total_steps = steps
        self.batch_size = batch_size
        self.ema_target = ema
        self.condition_fn = condition_fn
        self.preview_conditions = preview_conditions
        self.preview_steps = preview_steps
        self.preview_solver = preview_solver
        self.preview_edm = EDM(rho=preview_rho)
        self.edm = EDM()
        self.model = copy.deepcopy(teacher).requires_grad_(True)
        self.ema = copy.deepcopy(teacher).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, fused=True)
        self.step = 0

    def _sigma(self, b: int, device: torch.device) -> torch.Tensor:
        lo, hi = math.log(self.edm.sigma_min), math.log(self.edm.sigma_max)
        return (lo + (hi - lo) * torch.rand(b, device=device)).exp()

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step: lambda(sigma) ||D_student(x; sigma) - D_guided(x; sigma)||^2 at
        x = images + sigma n, for the batch's own conditions."""
        self.model.train()
        cond = None
        if self.condition_fn is not None:
            with torch.no_grad():
                cond = self.condition_fn(images, labels)
        sigma = self._sigma(images.shape[0], images.device)
        x = images + torch.randn_like(images) * sigma[:, None, None, None]
        g = self.guidance
        with torch.no_grad():
            target = guided_denoiser(self.teacher, cond, g.coarse, g.fine, self.edm)(x, sigma)
        coarse = None if cond is None else cond.coarse
        fine = None if cond is None else cond.fine
        student = self.edm.denoise(lambda xi, cn: self.model(xi, cn, coarse, fine), x, sigma)
        err = (student.float() - target.float()).square().flatten(1).mean(1)
        loss = (self.edm.loss_weight(sigma) * err).mean()
        self.optimise(loss, step, self.ema_target)
        return {"distill_loss": loss.item()}

    def save(self, folder: Path) -> None:
        """The EMA student as folder/{config.json, model.safetensors, guidance.json}."""
        save_component(self.ema, self.ema.config, Path(folder))
        atomic_write_text(Path(folder) / GUIDANCE_FILE, json.dumps(asdict(self.guidance)) + "\n")

    def preview(self, generator: torch.Generator) -> np.ndarray:
        """16 samples of the EMA student, unguided (the guidance is in its weights)."""
        return preview_images(
            self.ema,
            self.preview_conditions,
            16,
            generator,
            self.preview_steps,
            self.preview_edm,
            self.preview_solver,
        )


class DistilledGenerator:
    """A guidance-distilled student as a `PixelGenerator`: one UNet prediction per solver
    evaluation at the scales it was distilled at; any other guidance is drawn by the UNet it
    was distilled from (`teacher`), with that guidance's two or three predictions."""

    def __init__(
        self, inner: DiffusionGenerator, teacher: DiffusionGenerator, guidance: Guidance
    ) -> None:
        self.inner = inner
        self.teacher = teacher
        self.guidance = guidance

    def serves(self, settings: SamplerSettings) -> bool:
        """Whether the student draws images at these settings (else the teacher does)."""
        g = self.guidance
        asked = (settings.guidance_coarse, settings.guidance_fine, settings.guidance_schedule)
        return asked == (g.coarse, g.fine, "constant")

    def render(
        self,
        condition: Condition | None,
        n: int,
        seed: int,
        settings: SamplerSettings,
        init: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if not self.serves(settings):
            return self.teacher.render(condition, n, seed, settings, init)
        plain = replace(settings, guidance_coarse=1.0, guidance_fine=1.0)
        return self.inner.render(condition, n, seed, plain, init)
