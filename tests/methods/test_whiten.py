"""Whitened fine coefficients (`cofi.whiten_fine`): unit spread in every direction of every
code, exactly invertible, and the fitted prior draws them at that spread."""

import torch

from ucgen.methods.cofi.basis import BasisConfig, FineBasis
from ucgen.methods.cofi.prior import FittedPrior


def _latents() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    z_c = torch.randn(2000, 1, generator=g)
    scales = torch.tensor([2.0, 0.5, 0.05, 0.001])
    return z_c, torch.randn(2000, 4, generator=g) * scales + 3.0


def test_whitened_coefficients_have_unit_spread_and_invert():
    z_c, z_f = _latents()
    codes = (z_c[:, 0] >= 0).long()
    plain = FineBasis(BasisConfig(bits=1, fine_dim=4)).fit(z_c, z_f)
    white = FineBasis(BasisConfig(bits=1, fine_dim=4, whiten=True)).fit(z_c, z_f)
    for code in (0, 1):
        rows = codes == code
        spread_plain = plain.coefficients(z_f[rows], codes[rows]).std(0)
        spread_white = white.coefficients(z_f[rows], codes[rows]).std(0)
        assert spread_plain.max() / spread_plain.min() > 100
        torch.testing.assert_close(spread_white, torch.ones(4), atol=1e-3, rtol=1e-3)
    c = white.coefficients(z_f, codes)
    torch.testing.assert_close(white.fine_vector(c, codes), z_f, atol=1e-4, rtol=1e-4)
    drawn = FittedPrior(white).sample(4000, torch.Generator().manual_seed(1), code=1).fine
    torch.testing.assert_close(drawn.std(0), torch.ones(4), atol=0.05, rtol=0.05)
