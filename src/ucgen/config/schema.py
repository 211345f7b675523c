"""Every configurable value, as dataclasses: one section per part of the system.

A run is fully described by one `Config`; its resolved form is saved as `config.json` in
the run folder. Each section validates its own ranges in `check()` so that a bad value is
rejected with a message naming its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ucgen.errors import ConfigError

Method = Literal["cofi", "uncond", "labels"]
OnDivergence = Literal["stop", "rollback"]
Device = Literal["auto", "cpu", "cuda"]
CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]
Precision = Literal["fp32", "bf16"]
# Seeds feed numpy's SeedSequence and torch generators (the loop's data order seeds one with
# seed * 1_000_003 + epoch, which must stay below 2**64): unsigned 32-bit values fit them all.
SEED_LIMIT = 2**32


def _require(ok: bool, key: str, msg: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {msg}")


@dataclass
class DataConfig:
    """Where the training images come from (`ucgen.data.load_dataset`)."""

    source: str = "digits"
    resolution: int | None = None
    root: str | None = None
    limit: int | None = None  # use only the first N training images (tests, quick runs)

    def check(self) -> None:
        _require(
            self.resolution is None or 4 <= self.resolution <= 1024,
            "data.resolution",
            f"must be in [4, 1024], got {self.resolution}",
        )
        _require(
            self.limit is None or self.limit > 0,
            "data.limit",
            f"must be positive, got {self.limit}",
        )


@dataclass
class Stage1Config:
    """CoFi-UCGen stage 1: generator, encoder and joint discriminator (adversarial reciprocal
    learning) that define the bit-codes and fine vectors."""

    bits: int = 4  # K: coarse code length, 2**K codes
    fine_dim: int = 16  # D: fine vector size
    width: int = 32  # base channel count of G, E and D
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    ema: float = 0.999
    # Loss weights (0 disables the term; see ucgen.methods.cofi.losses).
    w_adv: float = 1.0  # joint adversarial game D(x, z)
    w_bit: float = 1.0  # consistency: bits of E(G(z)) against sign(z_c)
    w_fine: float = 1.0  # consistency: E(G(z))_f against z_f
    w_complete: float = 0.1  # completeness: pixel L1 of G(E(x)) against x
    w_augment: float = 1.0  # bits of E(x) agree under augmentation (bench/stage1_results.md)
    w_balance: float = 0.0  # each bit of E(x) is 50/50 over a batch
    w_mutual: float = 4.0  # mutual information of the codes of x and its augmentation (IIC)
    # The second view of the mutual and augmentation terms: an augmentation of the image itself
    # (0) or of one of its this many nearest training images (ucgen.methods.cofi.neighbours).
    mi_neighbours: int = 0
    # The coarse teacher (ucgen.methods.cofi.teacher): train its autoencoder this many steps
    # (0: no teacher), cluster the training images on the manifold of its embedding, and
    # have the bits of E(x) learn each image's teacher code with weight `w_teacher`.
    teacher_steps: int = 0
    w_teacher: float = 1.0
    # The first this many steps train the encoder on the mutual (and balance) term alone: codes
    # form from invariance before the GAN terms tie them to what G renders most easily.
    mi_warmup: int = 0
    # This many coarse heads learn side by side during the warm-up (one trunk); at its end the
    # one with the lowest mutual loss becomes the encoder's (IIC's sub-heads: a label-free
    # choice that sidesteps a head stuck with two kinds in one code).
    mi_heads: int = 1
    # After the warm-up, the encoder's trunk and coarse head stop training: the bit-codes are
    # what the warm-up made them, and the joint game trains G, D and E's fine head around them.
    freeze_codes: bool = False
    # p(bit = +1) = sigmoid(sharpness * z_c / its batch RMS) in the mutual and bit terms.
    mi_sharpness: float = 4.0
    aug_shift: int = 2  # augmentation: random shifts of up to this many pixels
    aug_flip: bool = False  # augmentation: random horizontal flips (off: digits are not symmetric)
    aug_color: bool = False  # augmentation: random hue rotations (RGB images only)
    aug_zoom: float = 0.1  # augmentation: random scaling by a factor in [1 - zoom, 1 + zoom]
    aug_intensity: float = 0.2  # augmentation: random contrast and brightness of this size
    aug_rotate: float = 0.0  # augmentation: random rotation by up to this many degrees
    coarse_pool: bool = False  # encoder reads bits from pooled features (position-free codes)
    # Fine vectors from a separate fine encoder trained this many steps through the diffusion
    # loss with the bit-codes fixed (ucgen.methods.cofi.fine_stage), instead of the stage-1
    # encoder's fine head (0). Its UNet has the diffusion section's size and batch.
    fine_encoder_steps: int = 0
    # The HM-UNet's fine coefficients in units of each direction's spread in its code
    # (ucgen.methods.cofi.basis), instead of the raw PCA coefficients.
    whiten_fine: bool = False

    def check(self) -> None:
        weights = (
            "w_adv",
            "w_bit",
            "w_fine",
            "w_complete",
            "w_augment",
            "w_balance",
            "w_mutual",
        )
        for key in (*weights, "w_teacher"):
            value = getattr(self, key)
            _require(value >= 0, f"stage1.{key}", f"must be >= 0, got {value}")
        _require(
            self.fine_encoder_steps >= 0,
            "stage1.fine_encoder_steps",
            f"must be >= 0, got {self.fine_encoder_steps}",
        )
        _require(
            any(getattr(self, key) > 0 for key in weights),
            "stage1.w_*",
            "at least one loss weight must be > 0",
        )
        _require(
            0 <= self.aug_shift <= 8, "stage1.aug_shift", f"must be in [0, 8], got {self.aug_shift}"
        )
        _require(
            0 <= self.aug_zoom < 1, "stage1.aug_zoom", f"must be in [0, 1), got {self.aug_zoom}"
        )
        _require(
            0 <= self.aug_rotate <= 180,
            "stage1.aug_rotate",
            f"must be in [0, 180] degrees, got {self.aug_rotate}",
        )
        _require(
            0 <= self.aug_intensity <= 1,
            "stage1.aug_intensity",
            f"must be in [0, 1], got {self.aug_intensity}",
        )
        _require(
            self.mi_sharpness > 0,
            "stage1.mi_sharpness",
            f"must be > 0, got {self.mi_sharpness}",
        )
        _require(
            self.mi_neighbours >= 0,
            "stage1.mi_neighbours",
            f"must be >= 0, got {self.mi_neighbours}",
        )
        _require(
            self.teacher_steps >= 0,
            "stage1.teacher_steps",
            f"must be >= 0, got {self.teacher_steps}",
        )
        _require(
            self.teacher_steps == 0 or self.bits <= 8,
            "stage1.teacher_steps",
            f"a teacher clusters into 2**bits kinds and orders their codes, for bits <= 8; "
            f"got bits {self.bits}",
        )
        teaching = self.teacher_steps > 0 and self.w_teacher > 0
        _require(
            self.mi_warmup == 0 or (self.mi_warmup > 0 and (self.w_mutual > 0 or teaching)),
            "stage1.mi_warmup",
            f"must be >= 0 and needs w_mutual > 0 or a teacher, got {self.mi_warmup} "
            f"(w_mutual {self.w_mutual}, teacher_steps {self.teacher_steps}, "
            f"w_teacher {self.w_teacher})",
        )
        _require(
            self.mi_heads >= 1 and (self.mi_heads == 1 or self.mi_warmup > 0),
            "stage1.mi_heads",
            f"must be >= 1, and > 1 needs mi_warmup > 0 (the heads are chosen at its end), "
            f"got {self.mi_heads} (mi_warmup {self.mi_warmup})",
        )
        _require(
            not self.freeze_codes or self.mi_warmup > 0,
            "stage1.freeze_codes",
            "needs mi_warmup > 0 (the codes are frozen as the warm-up leaves them)",
        )
        _require(1 <= self.bits <= 12, "stage1.bits", f"must be in [1, 12], got {self.bits}")
        _require(
            1 <= self.fine_dim <= 512,
            "stage1.fine_dim",
            f"must be in [1, 512], got {self.fine_dim}",
        )
        _require(self.width >= 4, "stage1.width", f"must be >= 4, got {self.width}")
        # A stage of 0 steps writes no checkpoint, and every later part is built from one.
        _require(self.steps >= 1, "stage1.steps", f"must be >= 1, got {self.steps}")
        _require(self.batch_size >= 2, "stage1.batch_size", f"must be >= 2, got {self.batch_size}")
        _require(0 < self.lr < 1, "stage1.lr", f"must be in (0, 1), got {self.lr}")
        _require(0 <= self.ema < 1, "stage1.ema", f"must be in [0, 1), got {self.ema}")


@dataclass
class DiffusionConfig:
    """Stage 2: the (HM-)UNet pixel generator and its diffusion training."""

    width: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)
    num_res_blocks: int = 1  # residual blocks per level on each of the down and up paths
    attention: bool = False  # one self-attention layer at the lowest resolution
    fine_schedule: Literal["progressive", "flat"] = "progressive"  # "flat": ablation, see HMUNet
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    ema: float = 0.999
    drop_coarse: float = 0.1  # probability of dropping the coarse condition in training
    drop_fine: float = 0.2  # probability of dropping the fine condition in training

    def check(self) -> None:
        _require(self.width >= 4, "diffusion.width", f"must be >= 4, got {self.width}")
        _require(
            len(self.channel_mult) >= 1 and all(m >= 1 for m in self.channel_mult),
            "diffusion.channel_mult",
            f"must be positive integers, got {self.channel_mult}",
        )
        _require(
            self.num_res_blocks >= 1,
            "diffusion.num_res_blocks",
            f"must be >= 1, got {self.num_res_blocks}",
        )
        _require(
            self.fine_schedule in ("progressive", "flat"),
            "diffusion.fine_schedule",
            f"must be 'progressive' or 'flat', got {self.fine_schedule!r}",
        )
        _require(self.steps >= 1, "diffusion.steps", f"must be >= 1, got {self.steps}")
        _require(
            self.batch_size >= 1, "diffusion.batch_size", f"must be >= 1, got {self.batch_size}"
        )
        _require(0 < self.lr < 1, "diffusion.lr", f"must be in (0, 1), got {self.lr}")
        _require(0 <= self.ema < 1, "diffusion.ema", f"must be in [0, 1), got {self.ema}")
        for key in ("drop_coarse", "drop_fine"):
            value = getattr(self, key)
            _require(0 <= value <= 1, f"diffusion.{key}", f"must be in [0, 1], got {value}")


@dataclass
class SampleConfig:
    """Sampling defaults for the pixel generator."""

    steps: int = 18
    guidance: float = 1.0  # classifier-free guidance scale of the coarse condition; 1 = none
    guidance_fine: float = 1.0  # guidance scale of the fine condition (CoFi); 1 = none
    batch_size: int = 256
    # UNet evaluations in bfloat16 autocast (NCHW), the Heun integration in float32; images
    # differ from fp32 sampling by bf16 rounding (ucgen.training.speed, bench/bench_sampling.py).
    precision: Precision = "fp32"
    # CoFi's condition sampler: "fitted" (codes and fine coefficients as the training images'
    # encodings have them: the HM-UNet's training conditions) or "gaussian" (the design's
    # N(0, I), every code equally likely: the stage-1 GAN's; bench/results/fmnist-10k.md).
    prior: Literal["gaussian", "fitted"] = "fitted"

    def check(self) -> None:
        _require(1 <= self.steps <= 1000, "sample.steps", f"must be in [1, 1000], got {self.steps}")
        _require(self.guidance >= 0, "sample.guidance", f"must be >= 0, got {self.guidance}")
        _require(
            self.guidance_fine >= 0,
            "sample.guidance_fine",
            f"must be >= 0, got {self.guidance_fine}",
        )
        _require(self.batch_size >= 1, "sample.batch_size", f"must be >= 1, got {self.batch_size}")
        _check_precision(self.precision, "sample.precision")


@dataclass
class EvalConfig:
    """Evaluation: how many samples, which feature network."""

    num_samples: int = 10000
    features: Literal["reference", "inception"] = "reference"
    reference_width: int = 16  # reference classifier: channels of its first conv block
    reference_epochs: int | None = None  # reference classifier epochs; None: 4, >= 300 steps

    def check(self) -> None:
        _require(self.num_samples >= 2, "eval.num_samples", f"must be >= 2, got {self.num_samples}")
        _require(
            self.reference_width >= 1,
            "eval.reference_width",
            f"must be >= 1, got {self.reference_width}",
        )
        _require(
            self.reference_epochs is None or self.reference_epochs >= 1,
            "eval.reference_epochs",
            f"must be >= 1, got {self.reference_epochs}",
        )
        _require(
            self.features in ("reference", "inception"),
            "eval.features",
            f"must be 'reference' or 'inception', got {self.features!r}",
        )


@dataclass
class TrainConfig:
    """What to train and the shared training settings."""

    method: Method = "cofi"
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
    # Speed only, results equal up to float rounding (ucgen.training.speed; defaults measured
    # with bench/bench_training.py): NHWC layout of the trained networks, torch.compile mode of
    # their forward ("off": eager), torch CPU threads (0: torch's default, one per core;
    # "auto": the cores other work leaves idle at start, see ucgen.training.speed.auto_threads).
    channels_last: bool = False
    compile: CompileMode = "off"
    threads: int | Literal["auto"] = 0
    # Mixed precision of the trained networks' forward passes: "bf16" runs them under bfloat16
    # autocast, weights, optimiser state, EMA and losses stay float32 (ucgen.training.speed).
    # Not speed only: results differ from fp32 by bf16 rounding.
    precision: Precision = "fp32"

    def check(self) -> None:
        _require(
            self.method in ("cofi", "uncond", "labels"),
            "train.method",
            f"must be one of cofi, uncond, labels; got {self.method!r}",
        )
        _require(
            0 <= self.seed < SEED_LIMIT,
            "train.seed",
            f"must be in [0, {SEED_LIMIT - 1}], got {self.seed}",
        )
        _require(
            self.on_divergence in ("stop", "rollback"),
            "train.on_divergence",
            f"must be stop or rollback; got {self.on_divergence!r}",
        )
        _require(
            0 < self.rollback_lr_factor < 1,
            "train.rollback_lr_factor",
            f"must be in (0, 1), got {self.rollback_lr_factor}",
        )
        _require(
            self.max_rollbacks >= 0,
            "train.max_rollbacks",
            f"must be >= 0, got {self.max_rollbacks}",
        )
        _require(
            self.device in ("auto", "cpu", "cuda"),
            "train.device",
            f"must be auto, cpu or cuda; got {self.device!r}",
        )
        for key in ("log_every", "sample_every", "checkpoint_every"):
            value = getattr(self, key)
            _require(value >= 1, f"train.{key}", f"must be >= 1, got {value}")
        _require(
            self.compile in ("off", "default", "reduce-overhead", "max-autotune"),
            "train.compile",
            f"must be off, default, reduce-overhead or max-autotune; got {self.compile!r}",
        )
        _require(
            self.threads == "auto" or self.threads >= 0,
            "train.threads",
            f"must be >= 0 or auto, got {self.threads}",
        )
        _check_precision(self.precision, "train.precision")


def _check_precision(value: str, key: str) -> None:
    _require(value in ("fp32", "bf16"), key, f"must be fp32 or bf16; got {value!r}")


@dataclass
class Config:
    """A whole run: data, both stages, sampling, evaluation and training settings."""

    data: DataConfig = field(default_factory=DataConfig)
    stage1: Stage1Config = field(default_factory=Stage1Config)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> Config:
        for section in (self.data, self.stage1, self.diffusion, self.sample, self.eval, self.train):
            section.check()
        return self
