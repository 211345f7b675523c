"""What a user does with a trained stage-1 generator, as functions returning uint8 images
(the CLI wires them up): generate for a bit-code, flip one bit, traverse a fine direction.

All take the stage-1 generator G(z_c, z_f) (the saved EMA one) and return (..., H, W, C) uint8.
"""

from __future__ import annotations

import numpy as np
import torch

from ucgen.data.dataset import to_uint8
from ucgen.methods.cofi.basis import FineBasis
from ucgen.methods.cofi.bitcodes import bit_ids, flip_bit
from ucgen.methods.cofi.prior import GaussianPrior
from ucgen.models.stage1 import Generator


@torch.no_grad()
def generate_code(
    generator: Generator, prior: GaussianPrior, code: int, n: int, rng: torch.Generator
) -> np.ndarray:
    """n images (n, H, W, C) of bit-code `code`: z ~ N(0, I) with the signs of z_c set."""
    z_c, z_f = prior.latents(n, rng, code)
    return to_uint8(generator.eval()(z_c, z_f))


@torch.no_grad()
def flip_bit_images(
    generator: Generator, z_c: torch.Tensor, z_f: torch.Tensor, i: int
) -> np.ndarray:
    """(2, B, H, W, C): [0] G(z), [1] the same z with bit i of its code flipped."""
    g = generator.eval()
    return np.stack([to_uint8(g(z_c, z_f)), to_uint8(g(flip_bit(z_c, i), z_f))])


@torch.no_grad()
def traverse_fine(
    generator: Generator,
    basis: FineBasis,
    z_c: torch.Tensor,
    z_f: torch.Tensor,
    k: int,
    steps: int = 7,
    span: float = 2.0,
) -> np.ndarray:
    """(B, steps, H, W, C): for each z, a strip moving its fine vector along direction k of its
    code's basis, from -span to +span standard deviations of that direction (centre = z)."""
    if not 0 <= k < basis.config.fine_dim:
        raise ValueError(f"fine direction must be in [0, {basis.config.fine_dim}), got {k}")
    if steps < 2:
        raise ValueError(f"a traversal needs at least 2 steps, got {steps}")
    codes = bit_ids(z_c)
    direction = basis.basis[codes, :, k] * basis.variance[codes, k, None].sqrt()  # (B, D)
    g = generator.eval()
    strip = [
        to_uint8(g(z_c, z_f + t * direction)) for t in torch.linspace(-span, span, steps).tolist()
    ]
    return np.stack(strip, axis=1)
