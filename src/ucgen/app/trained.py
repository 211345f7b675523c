"""A trained run, ready to use: the Python API that `ucgen sample/traverse/flip/vary/cluster`
mirror. It holds the method's parts and the EMA HM-UNet and knows nothing of which method
made them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ucgen.config import Config, merge
from ucgen.config.loading import parse_override
from ucgen.data import to_model_range, to_uint8
from ucgen.diffusion.pipeline import DiffusionGenerator, SamplerSettings
from ucgen.errors import CheckpointError, UcgenError
from ucgen.io.runs import Run
from ucgen.methods import get_method, load_saved_config
from ucgen.methods.method import Method, Parts, UNetInputGenerator
from ucgen.methods.parts import PixelGenerator
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import load_unet
from ucgen.runtime import distributed as dist
from ucgen.runtime.checkpoints import checkpoint_step, final_components, latest_checkpoint
from ucgen.runtime.speed import set_threads
from ucgen.training.distill_stage import (
    Distilled,
    DistilledGenerator,
    GuidanceDistillStage,
    StepDistillStage,
)

PIXEL_STAGE = "diffusion"
DISTILLED = "distilled"
FEWSTEP = "fewstep"
# The students the driver distils from the HM-UNet, each from the one before where it exists:
# generator name -> (its stage, the diffusion key of its length).
STUDENTS = {
    DISTILLED: (GuidanceDistillStage.name, "distill_steps"),
    FEWSTEP: (StepDistillStage.name, "step_distill_steps"),
}
UNET_GENERATORS = (PIXEL_STAGE, *STUDENTS)  # trained by the driver, not by the method
# Seeds are non-negative 63-bit integers: what torch's generators take (seed + 1 and seed + row
# offsets stay below 2**64) and numpy's SeedSequence mixes into each image's noise.
MAX_SEED = 2**63 - 1
# Sampling holds every image as float32 (C, H, W) and then as uint8: 5 bytes a value. Beyond
# this much the result itself does not fit a workstation's memory: draw fewer images per call.
MAX_SAMPLE_BYTES = 16 * 2**30
# Images encoded at once: a whole training split in one batch would hold every layer's
# activations for all of it.
ENCODE_BATCH = 1024


@dataclass
class TrainedModel:
    """Parts + pixel generator of a finished run.

    Every method returns uint8 images (N, H, W, C) and the Condition each was made from.
    """

    config: Config
    parts: Parts
    generator: PixelGenerator
    run: Run
    device: torch.device
    image_shape: tuple[int, int, int]
    generator_name: str = PIXEL_STAGE

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str = "auto",
        generator: str | None = None,
        overrides: Sequence[str] = (),
        method: Method | None = None,
    ) -> TrainedModel:
        """Load a run's parts and one of its pixel generators: the HM-UNet ("diffusion"), its
        guidance-distilled student ("distilled", which leaves other scales to the HM-UNet),
        its step-distilled student ("fewstep", a few Euler steps at its own levels; other
        scales to the generator it was distilled from), the last of these the run has
        finished by default, or one the method names in `Parts.generators` (e.g. "stage1"), with
        `section.key=value` overrides of the run's config (e.g. "cofi.prior=gaussian").
        `method`: the instance the run was trained with, where it was built in Python
        (`train_run(..., method=RCG(encoder=net))`), else the registry's."""
        run = Run.open(path)
        config = load_saved_config(run.config_path)
        unfinished = _unfinished(run, config)
        for item in overrides:
            config = merge(config, parse_override(item)).check()
        set_threads(config.train.threads)
        dev = dist.local_device(device)
        try:
            method = method or get_method(config.train.method)
            parts = method.load_parts(config, run.checkpoints, dev)
        except CheckpointError:
            if unfinished is None:
                raise
            raise CheckpointError(unfinished) from None
        if generator is None:
            finished = [name for name in STUDENTS if _finished(run, config, name)]
            generator = finished[-1] if finished else PIXEL_STAGE
        if generator in UNET_GENERATORS:
            if unfinished is not None:
                names = ", ".join(sorted(parts.generators))
                also = f" (its finished generators: {names}, with --generator)" if names else ""
                raise CheckpointError(unfinished + also)
            unet = load_unet(final_components(run.checkpoints, PIXEL_STAGE)).to(dev).eval()
            shape = (unet.config.in_channels, unet.config.resolution, unet.config.resolution)
            pixel: PixelGenerator = DiffusionGenerator(unet, precision=config.sample.precision)
            if generator in STUDENTS:
                _check_finished(run, config, generator)
                names = list(STUDENTS)
                for name in names[: names.index(generator) + 1]:  # each from the one before
                    if _finished(run, config, name):
                        folder = final_components(run.checkpoints, STUDENTS[name][0])
                        student = DiffusionGenerator(
                            load_unet(folder).to(dev).eval(), precision=config.sample.precision
                        )
                        pixel = DistilledGenerator(  # type: ignore[assignment]
                            student,
                            pixel,  # type: ignore[arg-type]
                            Distilled.read(folder),
                            name,
                        )
            if parts.unet_input is not None:
                pixel = UNetInputGenerator(pixel, parts.unet_input)
            return cls(config, parts, pixel, run, dev, shape, generator)
        if generator not in parts.generators:
            known = ", ".join([PIXEL_STAGE, *sorted(parts.generators)])
            raise UcgenError(f"this run has no generator '{generator}': it has {known}")
        if parts.image_shape is None:
            raise UcgenError(f"generator '{generator}' does not state its image shape")
        return cls(
            config, parts, parts.generators[generator], run, dev, parts.image_shape, generator
        )

    def conditions(self, n: int, seed: int = 0, code: int | None = None) -> Condition | None:
        """n conditions from the method's sampler (None for an unconditional model)."""
        self.check_count(n)
        check_seed(seed)
        return self._draw(n, seed, code)

    def _draw(self, n: int, seed: int, code: int | None) -> Condition | None:
        """`conditions` without the checks of n and seed (for seeds derived from a checked one)."""
        if self.parts.sampler is None:
            if code is not None:
                raise UcgenError("this model has no codes: it is unconditional")
            return None
        self.check_code(code)
        return self.parts.sampler.sample(n, torch.Generator().manual_seed(seed), code=code)

    def render(
        self,
        condition: Condition | None,
        n: int,
        seed: int = 0,
        guidance: float | None = None,
        guidance_fine: float | None = None,
        steps: int | None = None,
        init: np.ndarray | None = None,
        strength: float = 1.0,
    ) -> np.ndarray:
        """Images (N, H, W, C) uint8 for given conditions; sample.* config values by default.
        init: (N, H, W, C) uint8 images to start from, redrawn as much as `strength` in (0, 1]
        says (1: nothing of them is kept but the condition)."""
        self.check_count(n)
        check_seed(seed)
        settings = self.sampler_settings(guidance, guidance_fine, steps, strength)
        x = self.generator.render(
            condition, n, seed, settings, init=None if init is None else to_model_range(init)
        )
        return to_uint8(x)

    def sampler_settings(
        self,
        guidance: float | None = None,
        guidance_fine: float | None = None,
        steps: int | None = None,
        strength: float = 1.0,
    ) -> SamplerSettings:
        """The sampler settings of the run's sample.* config with these values in their place
        (redrawing start images as much as `strength` says), each checked."""
        s = self.config.sample
        steps = s.steps if steps is None else steps
        guidance = s.guidance if guidance is None else guidance
        guidance_fine = s.guidance_fine if guidance_fine is None else guidance_fine
        # The config's own bounds (steps in [1, 1000], finite scales >= 0), not a copy of them.
        dataclasses.replace(s, steps=steps, guidance=guidance, guidance_fine=guidance_fine).check()
        if not 0 < strength <= 1:
            raise UcgenError(f"strength must be in (0, 1], got {strength}")
        return SamplerSettings(
            steps,
            guidance,
            guidance_fine,
            s.batch_size,
            strength,
            s.guidance_schedule,
            s.solver,
            s.rho,
        )

    def drawn_by(
        self,
        guidance: float | None = None,
        guidance_fine: float | None = None,
        steps: int | None = None,
    ) -> tuple[str, SamplerSettings]:
        """Which generator draws images at these settings (`render`'s defaults) and what its
        network samples with: a distilled student serves only the scales it was distilled at
        (unguided, and a step-distilled one at its own levels), other scales fall to the
        generator it was distilled from."""
        settings = self.sampler_settings(guidance, guidance_fine, steps)
        generator = self.generator
        while isinstance(generator, UNetInputGenerator):
            generator = generator.inner
        root = PIXEL_STAGE if self.generator_name in UNET_GENERATORS else self.generator_name
        if not isinstance(generator, DistilledGenerator):
            return root, settings
        name, used = generator.drawn_by(settings)
        return name or root, used

    def sample(
        self, n: int, seed: int = 0, code: int | None = None, **kw: float | int | None
    ) -> tuple[np.ndarray, Condition | None]:
        """n images with conditions from the prior (all of one code if `code` is given)."""
        cond = self.conditions(n, seed, code)
        return self.render(cond, n, seed, **kw), cond  # type: ignore[arg-type]

    def encode(self, images: np.ndarray) -> Condition:
        """Conditions of real images (N, H, W, C) uint8 (their bit-codes and fine vectors)."""
        if self.parts.encoder is None:
            raise UcgenError(
                "this model has no semantic encoder (it is a baseline whose "
                "conditions do not come from images)"
            )
        x = to_model_range(images)
        encoder = self.parts.encoder
        return Condition.cat(
            [
                encoder.encode(x[i : i + ENCODE_BATCH].to(self.device)).to("cpu")
                for i in range(0, max(len(x), 1), ENCODE_BATCH)
            ]
        )

    def traverse(
        self,
        code: int,
        direction: int,
        length: int = 8,
        seed: int = 0,
        span: float = 2.0,
        **kw: float | int | None,
    ) -> tuple[np.ndarray, Condition]:
        """One fine-basis direction moved from -span to +span standard deviations, all else
        fixed (same code, same other coefficients, same noise): a strip of `length` images."""
        if self.parts.fine_dim == 0:
            raise UcgenError("this model has no fine vector to traverse")
        if not 0 <= direction < self.parts.fine_dim:
            raise UcgenError(f"direction must be in [0, {self.parts.fine_dim}), got {direction}")
        _check_at_least("length", length, 2)
        self.check_count(length, "length")
        check_seed(seed)
        spread = self._draw(1000, seed + 1, code).fine[:, direction].std()  # type: ignore
        base = self.conditions(1, seed, code)
        cond = Condition.cat([base] * length)  # type: ignore[list-item]
        cond.fine = cond.fine.clone()  # type: ignore[union-attr]
        cond.fine[:, direction] = torch.linspace(-span, span, length) * spread  # type: ignore
        # Image i's noise depends on (seed, i): render one at a time so all share one noise.
        strip = [
            self.render(cond.slice(slice(i, i + 1)), 1, seed=seed, **kw) for i in range(length)
        ]
        return np.concatenate(strip), cond

    def flip(
        self, code: int, bit: int, n: int = 8, seed: int = 0, **kw: float | int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """n images of `code` and the same n with bit `bit` flipped (same fine coefficients,
        same noise): the change one bit makes."""
        k = self.parts.code_bits
        if k == 0:
            raise UcgenError("this model's codes are not bit-codes: there is no bit to flip")
        if not 0 <= bit < k:
            raise UcgenError(f"bit must be in [0, {k}), got {bit}")
        cond = self.conditions(n, seed, code)
        flipped = Condition(cond.coarse.clone(), cond.fine, cond.code ^ (1 << bit))  # type: ignore
        flipped.coarse[:, bit] *= -1  # type: ignore[index]
        return self.render(cond, n, seed, **kw), self.render(flipped, n, seed, **kw)

    def vary(
        self,
        image: np.ndarray,
        n: int = 8,
        seed: int = 0,
        keep_fine: bool = True,
        strength: float = 1.0,
        **kw: float | int | None,
    ) -> tuple[np.ndarray, Condition]:
        """n new images of one real image (1, H, W, C) uint8: its code (and fine vector, if
        `keep_fine`) kept, new details drawn. With strength 1 each is drawn from noise, so
        only the condition ties it to the image; lower strengths start from the image itself
        (SDEdit) and keep its layout (~0.5) or more."""
        _check_at_least("n", n, 1)
        own = self.encode(image)
        if keep_fine:
            cond = Condition.cat([own] * n)
        else:
            code = None if own.code is None else int(own.code[0])
            cond = self.conditions(n, seed, code)  # type: ignore[assignment]
        init = None if strength == 1 else np.repeat(image, n, axis=0)
        return self.render(cond, n, seed, init=init, strength=strength, **kw), cond

    def interpolate(
        self,
        first: np.ndarray,
        second: np.ndarray,
        length: int = 8,
        seed: int = 0,
        **kw: float | int | None,
    ) -> tuple[np.ndarray, Condition]:
        """A strip of `length` images whose conditions move in a straight line from the
        condition of real image `first` to that of `second` (each (1, H, W, C) uint8), with one
        noise for all, so only the condition changes. Needs a method whose encoder gives
        continuous conditions (`Parts.continuous`, e.g. RCG's representations); the strip's
        conditions carry no codes."""
        if not self.parts.continuous:
            raise UcgenError(
                "this model's conditions are not continuous vectors (discrete codes, or none): "
                "there is nothing between two of them to interpolate (RCG's are continuous)"
            )
        _check_at_least("length", length, 2)
        self.check_count(length, "length")
        check_seed(seed)
        a, b = self.encode(first), self.encode(second)
        t = torch.linspace(0, 1, length)[:, None]

        def line(x: torch.Tensor | None, y: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None or y is None else (1 - t) * x + t * y

        cond = Condition(line(a.coarse, b.coarse), line(a.fine, b.fine))
        strip = [
            self.render(cond.slice(slice(i, i + 1)), 1, seed=seed, **kw) for i in range(length)
        ]
        return np.concatenate(strip), cond

    def check_count(self, n: int, name: str = "n") -> None:
        """n images can be drawn in one call: n >= 1, and n images (float32 while sampling,
        then uint8) fit in MAX_SAMPLE_BYTES; a UcgenError naming `name` otherwise."""
        _check_at_least(name, n, 1)
        c, h, w = self.image_shape
        need = 5 * n * c * h * w
        if need > MAX_SAMPLE_BYTES:
            raise UcgenError(
                f"{name} = {n} images of {c}x{h}x{w} need {need / 2**30:.1f} GiB of memory "
                f"while sampling; at most {MAX_SAMPLE_BYTES // (5 * c * h * w)} images fit "
                f"the limit of {MAX_SAMPLE_BYTES // 2**30} GiB per call: draw several sets "
                "with different seeds"
            )

    def check_code(self, code: int | None) -> None:
        if code is None:
            return
        if self.parts.num_codes == 0:
            raise UcgenError("this model has no discrete codes")
        if not 0 <= code < self.parts.num_codes:
            raise UcgenError(f"code must be in [0, {self.parts.num_codes}), got {code}")


def _unfinished(run: Run, config: Config) -> str | None:
    """Why a run cannot be used yet, if its training stopped before the end: the pixel
    generator, every method's last stage, has not reached its configured steps."""
    latest = latest_checkpoint(run.checkpoints / PIXEL_STAGE)
    done = 0 if latest is None else checkpoint_step(latest)
    if done >= config.diffusion.steps:
        return None
    where = (
        "before its pixel generator started"
        if latest is None
        else (f"with its pixel generator at step {done} of {config.diffusion.steps}")
    )
    return (
        f"{run.path} is an unfinished run: its training stopped {where}; resume it with "
        f"`ucgen train --resume {run.path}`"
    )


def _finished(run: Run, config: Config, student: str) -> bool:
    """Whether the run's stage of the `STUDENTS` generator `student` has finished."""
    stage, key = STUDENTS[student]
    steps = getattr(config.diffusion, key)
    latest = latest_checkpoint(run.checkpoints / stage)
    return bool(steps) and latest is not None and checkpoint_step(latest) >= steps


def _check_finished(run: Run, config: Config, student: str) -> None:
    """A distilled generator exists only once its stage has finished."""
    if _finished(run, config, student):
        return
    key = STUDENTS[student][1]
    steps = getattr(config.diffusion, key)
    if not steps:
        raise UcgenError(
            f"{run.path} has no {student} generator: train one with `ucgen train --resume "
            f"{run.path} --set diffusion.{key}=N`"
        )
    raise CheckpointError(
        f"{run.path} has an unfinished {student} generator (diffusion.{key} {steps}); resume "
        f"it with `ucgen train --resume {run.path}`"
    )


def check_seed(seed: int, name: str = "seed") -> None:
    """A seed is an integer in [0, MAX_SEED], or a UcgenError naming `name`: negative or
    larger seeds cannot seed the per-image noise generators."""
    if not 0 <= seed <= MAX_SEED:
        raise UcgenError(f"{name} must be in [0, {MAX_SEED}] (2**63 - 1), got {seed}")


def _check_at_least(name: str, value: float, minimum: float) -> None:
    """A count or scale given by the user is at least `minimum`, or a UcgenError naming it."""
    if value < minimum:
        raise UcgenError(f"{name} must be >= {minimum}, got {value}")
