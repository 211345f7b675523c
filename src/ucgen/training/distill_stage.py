"""Distilled students of the pixel generator: fewer UNet predictions per image for the same
images at the run's sampling guidance.

Two stages, each a student UNet that starts as a copy of its frozen teacher and is pulled,
under EDM's loss weight, towards what the teacher gives at the same noisy input
(Meng et al. 2023, "On Distillation of Guided Diffusion Models", arXiv 2210.03142: its stage
one, then its stage two with one round of progressive distillation):

- `GuidanceDistillStage`: the teacher is the pixel stage's EMA UNet under classifier-free
  guidance (`guided_denoiser` at the constant scales of `Distilled`), two or three predictions;
  the student learns it in one. Noise levels are spread log-uniformly over the sampler's range
  [sigma_min, sigma_max] (the student must match the teacher wherever a sampler evaluates it,
  including the high levels where guidance settles the kind of image, which EDM's training
  distribution seldom visits).
- `StepDistillStage` (progressive distillation, Salimans & Ho 2022, arXiv 2202.00512, with
  EDM's Heun as the teacher's solver): the student learns to take in one Euler (DDIM) step
  from level s_j to s_{j+1} what the teacher's Heun solver takes in `SUBSTEPS` steps, so L
  student levels (L evaluations) stand for the teacher's L * SUBSTEPS. The levels are eq. 5's
  L * SUBSTEPS levels (at sample.rho) and every SUBSTEPS-th of them is a student level; the
  last student step goes to 0 over the teacher's last SUBSTEPS levels. The teacher is the
  guidance-distilled student where the run has one (one prediction a solver evaluation), else
  the guided UNet. Training inputs are training images noised to the student's levels.

A student saves the scales it gives, and a step-distilled one its levels (`STUDENT_FILE`);
`DistilledGenerator` samples with it at those scales and leaves other scales to its teacher.
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
from ucgen.diffusion.edm import EDM, Denoiser, Steps
from ucgen.diffusion.pipeline import DiffusionGenerator, SamplerSettings, guided_denoiser
from ucgen.io.atomic import atomic_write_text
from ucgen.io.checkpoint import save_component
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet
from ucgen.runtime.stage import OneNetworkStage
from ucgen.training.diffusion_stage import ConditionFn, PreviewConditions, preview_images

STUDENT_FILE = "guidance.json"
# Teacher (Heun) steps a step-distilled student's one Euler step stands for.
SUBSTEPS = 3


@dataclass(frozen=True)
class Distilled:
    """What a student gives in one prediction: the teacher's classifier-free guidance at these
    scales (`guided_denoiser`'s options) and, for a step-distilled student, the noise levels
    it samples on with Euler steps (empty: any sampler, any levels)."""

    coarse: float = 1.0
    fine: float = 1.0
    levels: tuple[float, ...] = ()

    @classmethod
    def read(cls, folder: Path) -> Distilled:
        saved = json.loads((Path(folder) / STUDENT_FILE).read_text())
        return cls(saved["coarse"], saved["fine"], tuple(saved.get("levels", ())))


class _StudentStage(OneNetworkStage):
    """A student HM-UNet copied from a frozen teacher, Adam on lambda(sigma) ||D_student(x;
    sigma) - target||^2 at x = images + sigma n; its EMA saved as component "unet" with its
    `Distilled` record. Subclasses draw sigma and compute the target."""

    def __init__(
        self,
        teacher: HMUNet,
        distilled: Distilled,
        steps: int,
        batch_size: int,
        lr: float,
        ema: float,
        condition_fn: ConditionFn | None,
        preview_conditions: PreviewConditions | None = None,
        preview_steps: Steps = 18,
        preview_solver: Solver = "heun",
        preview_rho: float = 7.0,
    ) -> None:
        self.teacher = teacher.eval().requires_grad_(False)
        self.distilled = distilled
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

    def sigma(self, b: int, device: torch.device) -> torch.Tensor:
        """The batch's noise levels (B,)."""
        raise NotImplementedError

    def target(self, x: torch.Tensor, sigma: torch.Tensor, cond: Condition | None) -> torch.Tensor:
        """What the student's denoiser should give at (x, sigma) (no gradient)."""
        raise NotImplementedError

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One Adam step on the batch's own conditions."""
        self.model.train()
        cond = None
        if self.condition_fn is not None:
            with torch.no_grad():
                cond = self.condition_fn(images, labels)
        sigma = self.sigma(images.shape[0], images.device)
        x = images + torch.randn_like(images) * sigma[:, None, None, None]
        with torch.no_grad():
            target = self.target(x, sigma, cond)
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
        record = asdict(self.distilled)
        record["levels"] = list(record["levels"])
        atomic_write_text(Path(folder) / STUDENT_FILE, json.dumps(record) + "\n")

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


class GuidanceDistillStage(_StudentStage):
    """TrainingStage: the student learns the teacher's guided prediction at `distilled`'s
    scales in one prediction, at levels log-uniform over the sampler's range."""

    name = "distill"
    state_name = "guidance distillation state"

    def sigma(self, b: int, device: torch.device) -> torch.Tensor:
        lo, hi = math.log(self.edm.sigma_min), math.log(self.edm.sigma_max)
        return (lo + (hi - lo) * torch.rand(b, device=device)).exp()

    def target(self, x: torch.Tensor, sigma: torch.Tensor, cond: Condition | None) -> torch.Tensor:
        g = self.distilled
        return guided_denoiser(self.teacher, cond, g.coarse, g.fine, self.edm)(x, sigma)


class StepDistillStage(_StudentStage):
    """TrainingStage: the student learns one Euler step over `levels` student levels where the
    teacher (guided at `teacher_guidance`) takes `SUBSTEPS` Heun steps; it gives `guidance`
    (recorded with its levels)."""

    name = "fewstep"
    state_name = "step distillation state"

    def __init__(
        self,
        teacher: HMUNet,
        teacher_guidance: Distilled,
        guidance: Distilled,
        levels: int,
        rho: float,
        steps: int,
        batch_size: int,
        lr: float,
        ema: float,
        condition_fn: ConditionFn | None,
        preview_conditions: PreviewConditions | None = None,
    ) -> None:
        edm = EDM(rho=rho)
        every = edm.sigma_steps(levels * SUBSTEPS)  # (L * SUBSTEPS + 1,) float64, ends with 0
        own = tuple(every[: levels * SUBSTEPS : SUBSTEPS].tolist())
        self.teacher_levels = every.float()
        super().__init__(
            teacher,
            replace(guidance, levels=own),
            steps,
            batch_size,
            lr,
            ema,
            condition_fn,
            preview_conditions,
            own,
            "euler",
            rho,
        )
        self.teacher_guidance = teacher_guidance

    def sigma(self, b: int, device: torch.device) -> torch.Tensor:
        own = torch.randint(len(self.distilled.levels), (b,), device=device) * SUBSTEPS
        return self.teacher_levels.to(device)[own]

    def target(self, x: torch.Tensor, sigma: torch.Tensor, cond: Condition | None) -> torch.Tensor:
        """The denoiser output whose Euler step from sigma lands where the teacher's Heun
        steps do: D* = (x_T - r x) / (1 - r), r = s_next / sigma (D* = x_T at s_next = 0)."""
        g = self.teacher_guidance
        denoise = guided_denoiser(self.teacher, cond, g.coarse, g.fine, self.edm)
        levels = self.teacher_levels.to(x.device)
        index = torch.searchsorted(-levels, -sigma)  # sigma is one of the levels, exactly
        here = x
        for i in range(SUBSTEPS):
            here = _heun_step(denoise, here, levels[index + i], levels[index + i + 1])
        ratio = _per_image(levels[index + SUBSTEPS] / sigma)
        return (here - ratio * x) / (1 - ratio)


def _per_image(v: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 1, 1, 1), to scale a batch of images."""
    return v[:, None, None, None]


def _heun_step(
    denoise: Denoiser, x: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor
) -> torch.Tensor:
    """One step of EDM's Algorithm 1 from t to t_next, per image (B,); where t_next is 0 the
    Euler step alone, which lands on D(x; t)."""
    d = (x - denoise(x, t)) / _per_image(t)
    euler = x + _per_image(t_next - t) * d
    last = t_next == 0
    safe = torch.where(last, torch.ones_like(t_next), t_next)
    d_next = (euler - denoise(euler, safe)) / _per_image(safe)
    corrected = x + _per_image(t_next - t) * (0.5 * d + 0.5 * d_next)
    return torch.where(_per_image(last), euler, corrected)


class DistilledGenerator:
    """A distilled student as a `PixelGenerator`: one UNet prediction per solver evaluation at
    the scales it was distilled at, and for a step-distilled student its own levels with Euler
    steps whatever the settings' steps and solver; any other guidance is drawn by `teacher`
    (the generator it was distilled from). `name`: the student's generator name, for saying
    which network drew an image."""

    def __init__(
        self,
        inner: DiffusionGenerator,
        teacher: DiffusionGenerator | DistilledGenerator,
        distilled: Distilled,
        name: str,
    ) -> None:
        self.inner = inner
        self.teacher = teacher
        self.distilled = distilled
        self.name = name

    def serves(self, settings: SamplerSettings) -> bool:
        """Whether the student draws images at these settings (else the teacher does)."""
        g = self.distilled
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
        return self.inner.render(condition, n, seed, self.sampled_with(settings), init)

    def drawn_by(self, settings: SamplerSettings) -> tuple[str | None, SamplerSettings]:
        """The student of this chain that draws images at `settings` (None: the generator at
        its root) and the settings its UNet samples with: the student's (unguided; its own
        levels and Euler for a step-distilled one) where it serves them."""
        if not self.serves(settings):
            teacher = self.teacher
            if isinstance(teacher, DistilledGenerator):
                return teacher.drawn_by(settings)
            return None, settings
        plain = replace(settings, guidance_coarse=1.0, guidance_fine=1.0)
        if self.distilled.levels:
            plain = replace(plain, steps=self.distilled.levels, solver="euler")
        return self.name, plain

    def sampled_with(self, settings: SamplerSettings) -> SamplerSettings:
        """The settings the UNet that draws images at `settings` samples with."""
        return self.drawn_by(settings)[1]
