"""Every configurable value, as dataclasses: one section per part of the system.

A run is fully described by one `Config`; its resolved form is saved as `config.json` in
the run folder. Each section validates its own ranges in `check()` so that a bad value is
rejected with a message naming its key.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from ucgen.errors import ConfigError

OnDivergence = Literal["stop", "rollback"]
Device = Literal["auto", "cpu", "cuda"]
CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]
Precision = Literal["fp32", "bf16"]
# ODE solvers of the diffusion sampler (ucgen.diffusion.edm): EDM's Heun, DPM-Solver++(2M),
# first-order Euler (DDIM).
Solver = Literal["heun", "dpmpp2m", "euler"]
GuidanceSchedule = Literal["constant", "linear"]
# Seeds feed numpy's SeedSequence and torch generators (the loop's data order seeds one with
# seed * 1_000_003 + epoch, which must stay below 2**64): unsigned 32-bit values fit them all.
SEED_LIMIT = 2**32


def require(ok: bool, key: str, msg: str) -> None:
    """A ConfigError naming `key` unless `ok`."""
    if not ok:
        raise ConfigError(f"{key}: {msg}")


def check_choices(section: object, prefix: str) -> None:
    """Every `Literal[...]` field of a section dataclass holds one of its values: the one check
    of allowed strings, for values read from files and for sections built in code alike."""
    for f in dataclasses.fields(section):  # type: ignore[arg-type]
        hint = typing.get_type_hints(type(section))[f.name]
        choices = [a for a in typing.get_args(hint) if typing.get_origin(a) is typing.Literal]
        if typing.get_origin(hint) is typing.Literal:
            choices = [hint]
        if not choices:
            continue
        allowed = [v for c in choices for v in typing.get_args(c)]
        value = getattr(section, f.name)
        others = [a for a in typing.get_args(hint) if typing.get_origin(a) is not typing.Literal]
        if value in allowed or any(isinstance(value, t) for t in others if isinstance(t, type)):
            continue
        shown = ", ".join(map(str, allowed))
        raise ConfigError(f"{prefix}.{f.name}: must be one of {shown}; got {value!r}")


@dataclass
class DataConfig:
    """Where the training images come from (`ucgen.data.load_dataset`)."""

    source: str = "digits"
    resolution: int | None = None
    root: str | None = None
    limit: int | None = None  # use only the first N training images (tests, quick runs)

    def check(self) -> None:
        check_choices(self, "data")
        require(
            self.resolution is None or 4 <= self.resolution <= 1024,
            "data.resolution",
            f"must be in [4, 1024], got {self.resolution}",
        )
        require(
            self.limit is None or self.limit > 0,
            "data.limit",
            f"must be positive, got {self.limit}",
        )


@dataclass
class DiffusionConfig:
    """Stage 2: the (HM-)UNet pixel generator and its diffusion training."""

    width: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1  # residual blocks per level on each of the down and up paths
    attention: bool = False  # one self-attention layer at the lowest resolution
    # Which fine coefficients each level sees (ucgen.models.hm_unet): "progressive" (none at
    # the lowest level), "graded" (the strongest at the lowest too), "flat" (ablation: all).
    fine_schedule: Literal["progressive", "graded", "flat"] = "progressive"
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    ema: float = 0.999
    drop_coarse: float = 0.1  # probability of dropping the coarse condition in training
    drop_fine: float = 0.2  # probability of dropping the fine condition in training
    # Guidance distillation (ucgen.training.distill_stage): a student UNet trained for this
    # many steps after the UNet to give in one prediction its guided output at the scales of
    # sample.guidance and sample.guidance_fine (the "distilled" generator); 0: none.
    distill_steps: int = 0
    # Step distillation (ucgen.training.distill_stage), after guidance distillation: a student
    # trained for this many steps to sample at those scales in step_distill_levels Euler steps
    # what the (guidance-distilled) UNet's Heun solver takes in 3 times as many (the "fewstep"
    # generator); 0: none.
    step_distill_steps: int = 0
    step_distill_levels: int = 4

    def check(self) -> None:
        check_choices(self, "diffusion")
        require(self.width >= 4, "diffusion.width", f"must be >= 4, got {self.width}")
        require(
            len(self.channel_mult) >= 1 and all(m >= 1 for m in self.channel_mult),
            "diffusion.channel_mult",
            f"must be positive integers, got {self.channel_mult}",
        )
        require(
            self.num_res_blocks >= 1,
            "diffusion.num_res_blocks",
            f"must be >= 1, got {self.num_res_blocks}",
        )
        require(self.steps >= 1, "diffusion.steps", f"must be >= 1, got {self.steps}")
        require(
            self.batch_size >= 1, "diffusion.batch_size", f"must be >= 1, got {self.batch_size}"
        )
        require(0 < self.lr < 1, "diffusion.lr", f"must be in (0, 1), got {self.lr}")
        require(0 <= self.ema < 1, "diffusion.ema", f"must be in [0, 1), got {self.ema}")
        for key in ("drop_coarse", "drop_fine"):
            value = getattr(self, key)
            require(0 <= value <= 1, f"diffusion.{key}", f"must be in [0, 1], got {value}")
        require(
            self.distill_steps >= 0,
            "diffusion.distill_steps",
            f"must be >= 0 (0: no distillation), got {self.distill_steps}",
        )
        require(
            self.step_distill_steps >= 0,
            "diffusion.step_distill_steps",
            f"must be >= 0 (0: no step distillation), got {self.step_distill_steps}",
        )
        require(
            1 <= self.step_distill_levels <= 100,
            "diffusion.step_distill_levels",
            f"must be in [1, 100], got {self.step_distill_levels}",
        )


@dataclass
class SampleConfig:
    """Sampling defaults for the pixel generator."""

    steps: int = 18
    # ODE solver over the `steps` noise levels: "heun" (EDM's Algorithm 1, 2 * steps - 1
    # denoiser evaluations), "dpmpp2m" (DPM-Solver++(2M), `steps` evaluations) or "euler"
    # (first order, `steps` evaluations).
    solver: Solver = "heun"
    # rho of EDM's eq. 5 noise levels: larger puts more of the `steps` levels at low noise.
    rho: float = 7.0
    guidance: float = 1.0  # classifier-free guidance scale of the coarse condition; 1 = none
    guidance_fine: float = 1.0  # guidance scale of the fine condition (CoFi); 1 = none
    # "linear": RCG's ramp, each scale w applied as 1 + (w - 1) p over the steps, p from 0 at
    # the first (noisiest) step to 1 at the last (ucgen.diffusion.pipeline.guided_denoiser).
    guidance_schedule: GuidanceSchedule = "constant"
    batch_size: int = 256
    # UNet evaluations in bfloat16 autocast (NCHW), the Heun integration in float32; images
    # differ from fp32 sampling by bf16 rounding (ucgen.runtime.speed, bench/bench_sampling.py).
    precision: Precision = "fp32"

    def check(self) -> None:
        check_choices(self, "sample")
        require(1 <= self.steps <= 1000, "sample.steps", f"must be in [1, 1000], got {self.steps}")
        require(0 < self.rho <= 100, "sample.rho", f"must be in (0, 100], got {self.rho}")
        for key in ("guidance", "guidance_fine"):
            scale = getattr(self, key)
            # nan passes a `>= 0` test's negation and gives black images: finite, stated.
            require(
                math.isfinite(scale) and scale >= 0,
                f"sample.{key}",
                f"must be a finite number >= 0, got {scale}",
            )
        require(self.batch_size >= 1, "sample.batch_size", f"must be >= 1, got {self.batch_size}")


@dataclass
class EvalConfig:
    """Evaluation: how many samples, which feature network."""

    num_samples: int = 10000
    features: Literal["reference", "inception"] = "reference"
    reference_width: int = 16  # reference classifier: channels of its first conv block
    reference_epochs: int | None = None  # reference classifier epochs; None: 4, >= 300 steps

    def check(self) -> None:
        check_choices(self, "eval")
        require(self.num_samples >= 2, "eval.num_samples", f"must be >= 2, got {self.num_samples}")
        require(
            self.reference_width >= 1,
            "eval.reference_width",
            f"must be >= 1, got {self.reference_width}",
        )
        require(
            self.reference_epochs is None or self.reference_epochs >= 1,
            "eval.reference_epochs",
            f"must be >= 1, got {self.reference_epochs}",
        )


@dataclass
class TrainConfig:
    """What to train and the shared training settings."""

    method: str = "cofi"  # a registered method (ucgen.methods); its options are its own section
    seed: int = 0
    device: Device = "auto"
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    # A non-finite loss or a detected collapse either stops training (the last good checkpoint
    # is kept) or rolls back to that checkpoint with the learning rate lowered.
    on_divergence: OnDivergence = "stop"
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3
    # Speed only, results equal up to float rounding (ucgen.runtime.speed; defaults measured
    # with bench/bench_training.py): NHWC layout of the trained networks, torch.compile mode of
    # their forward ("off": eager), torch CPU threads (0: torch's default, one per core;
    # "auto": the cores other work leaves idle at start, see ucgen.runtime.speed.auto_threads).
    channels_last: bool = False
    compile: CompileMode = "off"
    threads: int | Literal["auto"] = 0
    # Mixed precision of the trained networks' forward passes: "bf16" runs them under bfloat16
    # autocast, weights, optimiser state, EMA and losses stay float32 (ucgen.runtime.speed).
    # Not speed only: results differ from fp32 by bf16 rounding.
    precision: Precision = "fp32"

    def check(self) -> None:
        check_choices(self, "train")
        require(
            0 <= self.seed < SEED_LIMIT,
            "train.seed",
            f"must be in [0, {SEED_LIMIT - 1}], got {self.seed}",
        )
        require(
            0 < self.rollback_lr_factor < 1,
            "train.rollback_lr_factor",
            f"must be in (0, 1), got {self.rollback_lr_factor}",
        )
        require(
            self.max_rollbacks >= 0,
            "train.max_rollbacks",
            f"must be >= 0, got {self.max_rollbacks}",
        )
        for key in ("log_every", "sample_every", "checkpoint_every"):
            value = getattr(self, key)
            require(value >= 1, f"train.{key}", f"must be >= 1, got {value}")
        require(
            self.threads == "auto" or self.threads >= 0,
            "train.threads",
            f"must be >= 0 or auto, got {self.threads}",
        )


@dataclass
class Config:
    """A whole run: the sections every method shares, and the selected method's own options.

    `method` is the options dataclass of the method that `train.method` names (its section in
    files is named after the method, e.g. `[cofi]`), or None for a method without options.
    Which class that is, the method registry says (`ucgen.methods`); this layer does not know.
    """

    data: DataConfig = field(default_factory=DataConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    method: Any = None

    def sections(self) -> dict[str, Any]:
        """Every section by its name in files: the shared ones, then the method's own."""
        shared = {name: getattr(self, name) for name in SHARED_SECTIONS}
        return shared if self.method is None else {**shared, self.train.method: self.method}

    def check(self) -> Config:
        for section in self.sections().values():
            section.check()
        return self


SHARED_SECTIONS = ("data", "diffusion", "sample", "eval", "train")
