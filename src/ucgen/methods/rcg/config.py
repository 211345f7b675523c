"""RCG's options: the `[rcg]` section of a config, registered with the method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ucgen.config import check_choices, require
from ucgen.methods.augmentation import check_augmentation


@dataclass
class RCGConfig:
    """`[rcg]`: representation-conditioned generation. A self-supervised encoder (SimCLR's
    two views and InfoNCE, trained here on the same unlabeled images, or taken from another
    run with `encoder_from`) gives each image a representation r in R^D, standardised per
    sample; a representation diffusion model (RDM) learns P(r); the shared UNet learns
    P(x | r) with r as its global condition. The defaults suit 28 px grey images."""

    # Keys a resumed run may change, each with the stage whose length it sets (None: no stage).
    resumable: ClassVar[dict[str, str | None]] = {
        "encoder_steps": "rep-encoder",
        "rdm_steps": "rdm",
        "sampler": None,
        "rdm_sample_steps": None,
    }

    # The encoder (ucgen.models.rep_encoder).
    rep_dim: int = 64  # D: representation size
    encoder_width: int = 32
    encoder_hidden: int = 256  # projector MLP's hidden width
    encoder_steps: int = 2000
    encoder_batch: int = 256
    encoder_lr: float = 1e-3
    temperature: float = 0.2  # InfoNCE temperature (MoCo v3's)
    # The two views' augmentation (ucgen.methods.cofi.losses.augment): what r must not encode.
    aug_shift: int = 2
    aug_zoom: float = 0.2
    aug_rotate: float = 10.0
    aug_crop: float = 0.0  # random resized crops (SimCLR's) cutting up to this share of the area
    aug_flip: bool = False
    aug_color: bool = False
    aug_intensity: float = 0.4
    # A run folder whose encoder to reuse instead of training one (it is copied into this run).
    encoder_from: str | None = None
    # The RDM (ucgen.models.rdm), trained on the frozen encoder's representations.
    rdm_width: int = 256
    rdm_blocks: int = 4
    rdm_steps: int = 3000
    rdm_batch: int = 256
    rdm_lr: float = 5e-4
    rdm_ema: float = 0.999
    rdm_sample_steps: int = 24  # Heun steps of the RDM's sampler (cheap: an MLP)
    # What the UNet is conditioned on: the representation (RCG), or the one-hot k-means
    # cluster of it (Table 9a's "cluster ids" row; no RDM is trained then).
    condition: Literal["representation", "clusters"] = "representation"
    # Where new representations come from: the RDM, or those of random training images
    # (Table 9a's oracle row). Ignored with condition = "clusters" (cluster frequencies).
    sampler: Literal["rdm", "real"] = "rdm"
    # k-means clusters of the training representations: every condition's code (cluster id),
    # for `--code`, clustering metrics and the "clusters" condition.
    clusters: int = 10

    def check(self) -> None:
        check_choices(self, "rcg")
        for key in ("rep_dim", "encoder_width", "encoder_hidden", "rdm_width", "rdm_blocks"):
            value = getattr(self, key)
            require(value >= 1, f"rcg.{key}", f"must be >= 1, got {value}")
        require(
            2 <= self.rep_dim <= 1024, "rcg.rep_dim", f"must be in [2, 1024], got {self.rep_dim}"
        )
        # A stage of 0 steps writes no checkpoint, and every later part is built from one.
        for key in ("encoder_steps", "rdm_steps", "rdm_sample_steps"):
            value = getattr(self, key)
            require(value >= 1, f"rcg.{key}", f"must be >= 1, got {value}")
        for key in ("encoder_batch", "rdm_batch"):
            value = getattr(self, key)
            require(value >= 2, f"rcg.{key}", f"must be >= 2, got {value}")
        for key in ("encoder_lr", "rdm_lr"):
            value = getattr(self, key)
            require(0 < value < 1, f"rcg.{key}", f"must be in (0, 1), got {value}")
        require(0 <= self.rdm_ema < 1, "rcg.rdm_ema", f"must be in [0, 1), got {self.rdm_ema}")
        require(self.temperature > 0, "rcg.temperature", f"must be > 0, got {self.temperature}")
        check_augmentation(self, "rcg")
        require(
            self.clusters == 0 or 2 <= self.clusters <= 4096,
            "rcg.clusters",
            f"must be 0 (no codes) or in [2, 4096], got {self.clusters}",
        )
        require(
            self.condition != "clusters" or self.clusters >= 2,
            "rcg.clusters",
            "condition = 'clusters' needs clusters >= 2",
        )
        require(
            self.encoder_from is None or self.encoder_from != "",
            "rcg.encoder_from",
            "must be a run folder",
        )
