"""The label-free augmentation options that several methods' sections hold (aug_shift,
aug_zoom, aug_rotate, aug_crop, aug_intensity, aug_flip, aug_color): their ranges, checked once. The
augmentation itself is `ucgen.methods.cofi.losses.augment_with`. Kept free of torch, so that a
method's options load without it."""

from __future__ import annotations

from ucgen.config import require


def check_augmentation(options: object, section: str) -> None:
    """The aug_* fields of a method's options are in range; the message names `section.key`."""
    o = options
    require(0 <= o.aug_shift <= 8, f"{section}.aug_shift", f"must be in [0, 8], got {o.aug_shift}")  # type: ignore[attr-defined]
    require(0 <= o.aug_zoom < 1, f"{section}.aug_zoom", f"must be in [0, 1), got {o.aug_zoom}")  # type: ignore[attr-defined]
    require(0 <= o.aug_crop < 1, f"{section}.aug_crop", f"must be in [0, 1), got {o.aug_crop}")  # type: ignore[attr-defined]
    require(
        0 <= o.aug_rotate <= 180,  # type: ignore[attr-defined]
        f"{section}.aug_rotate",
        f"must be in [0, 180] degrees, got {o.aug_rotate}",  # type: ignore[attr-defined]
    )
    require(
        0 <= o.aug_intensity <= 1,  # type: ignore[attr-defined]
        f"{section}.aug_intensity",
        f"must be in [0, 1], got {o.aug_intensity}",  # type: ignore[attr-defined]
    )
