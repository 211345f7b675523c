"""CoFi-UCGen's options: the `[cofi]` section of a config, registered with the method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ucgen.config import check_choices, require
from ucgen.methods.augmentation import check_augmentation

MAX_HEADS = 32  # IIC used 5; each candidate is a coarse head trained in every warm-up step


@dataclass
class CoFiConfig:
    """`[cofi]`: CoFi-UCGen's own options. Stage 1 (generator, encoder and joint discriminator:
    adversarial semantic reciprocal learning) defines the bit-codes and fine vectors, its coarse
    teacher their kinds, and `prior` how new conditions are drawn. The defaults are the working
    recipe of the digits demo; `configs/` sizes it for other data."""

    # Keys a resumed run may change, each with the stage whose length it sets (None: no stage).
    resumable: ClassVar[dict[str, str | None]] = {"steps": "stage1", "prior": None}

    bits: int = 4  # K: coarse code length, 2**K codes
    fine_dim: int = 16  # D: fine vector size
    width: int = 32  # base channel count of G, E and D
    steps: int = 1500
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
    w_mutual: float = 0.0  # mutual information of the codes of x and its augmentation (IIC)
    # The coarse teacher (ucgen.methods.cofi.teacher): train its autoencoder this many steps
    # (0: no teacher), cluster the training images on the manifold of its embedding, and
    # have the bits of E(x) learn each image's teacher code with weight `w_teacher`.
    teacher_steps: int = 1500
    w_teacher: float = 1.0
    # The first this many steps train the encoder on the mutual (and balance) term alone: codes
    # form from invariance before the GAN terms tie them to what G renders most easily.
    mi_warmup: int = 600
    # Coarse heads trained on the mutual term during the warm-up, the encoder's own among them;
    # the one of lowest loss becomes the encoder's (ucgen.methods.cofi.heads).
    mi_heads: int = 1
    # After the warm-up, the encoder's trunk and coarse head stop training: the bit-codes are
    # what the warm-up made them, and the joint game trains G, D and E's fine head around them.
    freeze_codes: bool = True
    # p(bit = +1) = sigmoid(sharpness * z_c / its batch RMS) in the mutual and bit terms.
    mi_sharpness: float = 4.0
    aug_shift: int = 2  # augmentation: random shifts of up to this many pixels
    aug_flip: bool = False  # augmentation: random horizontal flips (off: digits are not symmetric)
    aug_color: bool = False  # augmentation: random hue rotations (RGB images only)
    aug_zoom: float = 0.1  # augmentation: random scaling by a factor in [1 - zoom, 1 + zoom]
    aug_intensity: float = 0.2  # augmentation: random contrast and brightness of this size
    aug_rotate: float = 0.0  # augmentation: random rotation by up to this many degrees
    aug_crop: float = 0.0  # augmentation: random resized crops cutting up to this area share
    coarse_pool: bool = False  # encoder reads bits from pooled features (position-free codes)
    # Fine vectors from a separate fine encoder trained this many steps through the diffusion
    # loss with the bit-codes fixed (ucgen.methods.cofi.fine_stage), instead of the stage-1
    # encoder's fine head (0). Its UNet has the diffusion section's size and batch.
    fine_encoder_steps: int = 0
    # The HM-UNet's fine coefficients in units of each direction's spread in its code
    # (ucgen.methods.cofi.basis), instead of the raw PCA coefficients.
    whiten_fine: bool = False
    # The condition sampler: "fitted" (codes and fine coefficients as the training images'
    # encodings have them: the HM-UNet's training conditions) or "gaussian" (the design's
    # N(0, I), every code equally likely: the stage-1 GAN's; bench/results/fmnist-10k.md).
    prior: Literal["gaussian", "fitted"] = "fitted"

    def check(self) -> None:
        check_choices(self, "cofi")
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
            require(value >= 0, f"cofi.{key}", f"must be >= 0, got {value}")
        require(
            self.fine_encoder_steps >= 0,
            "cofi.fine_encoder_steps",
            f"must be >= 0, got {self.fine_encoder_steps}",
        )
        require(
            any(getattr(self, key) > 0 for key in weights),
            "cofi.w_*",
            "at least one loss weight must be > 0",
        )
        check_augmentation(self, "cofi")
        require(
            self.mi_sharpness > 0,
            "cofi.mi_sharpness",
            f"must be > 0, got {self.mi_sharpness}",
        )
        require(
            self.teacher_steps >= 0,
            "cofi.teacher_steps",
            f"must be >= 0, got {self.teacher_steps}",
        )
        require(
            self.teacher_steps == 0 or self.bits <= 8,
            "cofi.teacher_steps",
            f"a teacher clusters into 2**bits kinds and orders their codes, for bits <= 8; "
            f"got bits {self.bits}",
        )
        teaching = self.teacher_steps > 0 and self.w_teacher > 0
        require(
            self.mi_warmup == 0 or (self.mi_warmup > 0 and (self.w_mutual > 0 or teaching)),
            "cofi.mi_warmup",
            f"must be >= 0 and needs w_mutual > 0 or a teacher, got {self.mi_warmup} "
            f"(w_mutual {self.w_mutual}, teacher_steps {self.teacher_steps}, "
            f"w_teacher {self.w_teacher})",
        )
        require(
            1 <= self.mi_heads <= MAX_HEADS,
            "cofi.mi_heads",
            f"must be in [1, {MAX_HEADS}], got {self.mi_heads}",
        )
        require(
            self.mi_heads == 1 or (self.mi_warmup > 0 and self.w_mutual > 0),
            "cofi.mi_heads",
            f"above 1 needs mi_warmup > 0 and w_mutual > 0 (the heads are chosen by their "
            f"mutual loss in the warm-up), got {self.mi_heads} (mi_warmup {self.mi_warmup}, "
            f"w_mutual {self.w_mutual})",
        )
        require(
            not self.freeze_codes or self.mi_warmup > 0,
            "cofi.freeze_codes",
            "needs mi_warmup > 0 (the codes are frozen as the warm-up leaves them)",
        )
        require(1 <= self.bits <= 12, "cofi.bits", f"must be in [1, 12], got {self.bits}")
        require(
            1 <= self.fine_dim <= 512,
            "cofi.fine_dim",
            f"must be in [1, 512], got {self.fine_dim}",
        )
        require(self.width >= 4, "cofi.width", f"must be >= 4, got {self.width}")
        # A stage of 0 steps writes no checkpoint, and every later part is built from one.
        require(self.steps >= 1, "cofi.steps", f"must be >= 1, got {self.steps}")
        require(self.batch_size >= 2, "cofi.batch_size", f"must be >= 2, got {self.batch_size}")
        require(0 < self.lr < 1, "cofi.lr", f"must be in (0, 1), got {self.lr}")
        require(0 <= self.ema < 1, "cofi.ema", f"must be in [0, 1), got {self.ema}")
