"""`GaussianPrior`: CoFi-UCGen's condition sampler, i.i.d. N(0, I) with no label prior.

z = (z_c, z_f) ~ N(0, I); the bit-code is sign(z_c), so every code is equally likely and
independent of |z_c| and z_f. Asking for a code sets the signs of z_c and keeps |z_c|.
The fine part is projected on the code's basis exactly as `CoFiEncoder.encode` does.
"""

from __future__ import annotations

import torch

from ucgen.methods.cofi.basis import FineBasis
from ucgen.methods.cofi.bitcodes import bit_ids, signs, with_code
from ucgen.methods.parts import Condition


class GaussianPrior:
    """Implements `ConditionSampler` for a fitted fine basis."""

    def __init__(self, basis: FineBasis) -> None:
        self.basis = basis
        self.bits = basis.config.bits
        self.fine_dim = basis.config.fine_dim

    def latents(
        self, n: int, generator: torch.Generator, code: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw stage-1 latents: z_c (n, K), z_f (n, D); z_c carries `code` if given."""
        if code is not None and not 0 <= code < 2**self.bits:
            raise ValueError(
                f"code must be in [0, {2**self.bits}) for {self.bits} bits, got {code}"
            )
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
