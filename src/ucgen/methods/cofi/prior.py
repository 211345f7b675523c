"""CoFi-UCGen's condition samplers (`cofi.prior`); neither uses labels.

`GaussianPrior` ("gaussian", the design's): z = (z_c, z_f) ~ N(0, I); the bit-code is
sign(z_c), so every code is equally likely and independent of |z_c| and z_f. Asking for a code
sets the signs of z_c and keeps |z_c|. The fine part is projected on the code's basis exactly as
`CoFiEncoder.encode` does.

`FittedPrior` ("fitted"): the encodings of the training images, summarised by the fine basis:
codes at the frequencies the encoder gave the training images, fine coefficients from each
code's Gaussian (the basis's per-code PCA variances). These are the conditions the HM-UNet was
trained on; the Gaussian prior draws a rare code as often as a common one.
"""

from __future__ import annotations

import torch

from ucgen.methods.cofi.basis import FineBasis
from ucgen.methods.cofi.bitcodes import bit_ids, id_bits, signs, with_code
from ucgen.models.condition import Condition


class _BasisSampler:
    """A condition sampler over a fitted fine basis: its code length K and fine size D."""

    def __init__(self, basis: FineBasis) -> None:
        self.basis = basis
        self.bits = basis.config.bits
        self.fine_dim = basis.config.fine_dim


class GaussianPrior(_BasisSampler):
    """Implements `ConditionSampler` for a fitted fine basis."""

    def latents(
        self, n: int, generator: torch.Generator, code: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw stage-1 latents: z_c (n, K), z_f (n, D); z_c carries `code` if given."""
        _check_code(code, self.bits)
        z = torch.randn(n, self.bits + self.fine_dim, generator=generator)
        z_c, z_f = z[:, : self.bits], z[:, self.bits :]
        if code is not None:
            z_c = with_code(z_c, code)
        return z_c, z_f

    def sample(self, n: int, generator: torch.Generator, code: int | None = None) -> Condition:
        """n conditions: coarse (n, K) ±1, fine (n, D) basis coefficients, code (n,) ids."""
        z_c, z_f = self.latents(n, generator, code)
        codes = bit_ids(z_c)
        return Condition(coarse=signs(z_c), fine=self.basis.coefficients(z_f, codes), code=codes)


class FittedPrior(_BasisSampler):
    """Implements `ConditionSampler` for a fitted fine basis (see the module docstring)."""

    def sample(self, n: int, generator: torch.Generator, code: int | None = None) -> Condition:
        """n conditions: coarse (n, K) ±1, fine (n, D) basis coefficients, code (n,) ids."""
        _check_code(code, self.bits)
        if code is None:
            weights = self.basis.count.double().clamp_min(0)
            codes = torch.multinomial(weights, n, replacement=True, generator=generator)
        else:
            codes = torch.full((n,), code, dtype=torch.int64)
        std = self.basis.coefficient_std(codes)
        fine = torch.randn(n, self.fine_dim, generator=generator) * std
        return Condition(coarse=id_bits(codes, self.bits), fine=fine, code=codes)


def _check_code(code: int | None, bits: int) -> None:
    if code is not None and not 0 <= code < 2**bits:
        raise ValueError(f"code must be in [0, {2**bits}) for {bits} bits, got {code}")
