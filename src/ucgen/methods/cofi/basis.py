"""The fine-grained semantic basis of CoFi-UCGen: per bit-code, an orthonormal basis of the
encoder's fine vectors E(x)_f over the training images with that code (PCA, directions ordered
by decreasing variance), and a global basis for codes with too few images.

Fine coefficients are taken *centred per code*: c = U_code^T (z_f - mu_code), so that c = 0 is
the typical look of the code and coefficient k moves along the code's k-th most varying
direction. The encoder and the Gaussian prior use the same projection, so both give
coefficients on the same scale. The basis is complete (D directions), so z_f is recovered
exactly as mu_code + U_code c.

With `whiten`, each coefficient is further divided by its direction's standard deviation in
the code, so the training images' coefficients have unit variance in every direction. Why:
the HM-UNet reads the coefficients through linear projections trained by Adam, whose steps do
not grow with a small input, so a direction of standard deviation s moves its output s times
slower than a unit one, and unwhitened PCA coefficients span orders of magnitude against the
bit-code's +-1 (bench/results/fine_control.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ucgen.methods.cofi.bitcodes import bit_ids


@dataclass
class BasisConfig:
    """bits: K (2**K codes); fine_dim: D; min_count: codes with fewer training images than
    this use the global basis (a PCA of D dimensions from a handful of points is noise);
    whiten: coefficients in units of each direction's standard deviation (module docstring)."""

    bits: int = 4
    fine_dim: int = 16
    min_count: int = 32
    whiten: bool = False


class FineBasis(nn.Module):
    """Buffers (saved with `save_component`):
    mean (2**K, D), basis (2**K, D, D) with orthonormal columns, variance (2**K, D) descending,
    count (2**K,) training images per code, own (2**K,) 1 where the code has its own basis,
    0 where it uses the global one.
    """

    def __init__(self, config: BasisConfig) -> None:
        super().__init__()
        self.config = config
        n, d = 2**config.bits, config.fine_dim
        self.register_buffer("mean", torch.zeros(n, d))
        self.register_buffer("basis", torch.eye(d).repeat(n, 1, 1))
        self.register_buffer("variance", torch.ones(n, d))
        self.register_buffer("count", torch.zeros(n, dtype=torch.int64))
        self.register_buffer("own", torch.zeros(n, dtype=torch.int64))

    @torch.no_grad()
    def fit(self, z_c: torch.Tensor, z_f: torch.Tensor) -> FineBasis:
        """Fit from encoder outputs of the training images: z_c (N, K), z_f (N, D)."""
        codes = bit_ids(z_c)
        g_mean, g_basis, g_var = _pca(z_f.double())
        for code in range(2**self.config.bits):
            rows = z_f[codes == code].double()
            self.count[code] = len(rows)
            if len(rows) >= self.config.min_count:
                mean, basis, var = _pca(rows)
                self.own[code] = 1
            else:
                mean, basis, var = g_mean, g_basis, g_var
                self.own[code] = 0
            self.mean[code], self.basis[code], self.variance[code] = mean, basis, var
        return self

    def coefficient_std(self, codes: torch.Tensor) -> torch.Tensor:
        """(B,) codes -> (B, D) standard deviations of the training images' coefficients
        (ones when whitened)."""
        std = self.variance[codes].sqrt()
        return torch.ones_like(std) if self.config.whiten else std

    def _scale(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, D) what whitening divides by: the directions' standard deviations (floored at
        1e-6 of the code's largest, so a direction without variance stays finite), or ones."""
        std = self.variance[codes].sqrt()
        if not self.config.whiten:
            return torch.ones_like(std)
        return std.clamp_min(1e-6 * std.max(dim=1, keepdim=True).values.clamp_min(1e-12))

    def coefficients(self, z_f: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """z_f (B, D), codes (B,) int64 -> (B, D) coefficients U_code^T (z_f - mu_code)
        (divided by the directions' standard deviations when whitened)."""
        centred = z_f - self.mean[codes]
        return torch.einsum("bdk,bd->bk", self.basis[codes], centred) / self._scale(codes)

    def fine_vector(self, coeff: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Inverse of `coefficients`: (B, D) coefficients -> z_f = mu_code + U_code c."""
        c = coeff * self._scale(codes)
        return self.mean[codes] + torch.einsum("bdk,bk->bd", self.basis[codes], c)


def _pca(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, D) -> mean (D,), basis (D, D) orthonormal columns by decreasing variance, variance.

    Each direction's sign is fixed (its largest-magnitude entry positive) so that a refit on
    the same data gives the same basis.
    """
    mean = rows.mean(dim=0)
    centred = rows - mean
    cov = centred.T @ centred / max(1, len(rows) - 1)
    var, vecs = torch.linalg.eigh(cov)  # ascending
    var, vecs = var.flip(0).clamp_min(0), vecs.flip(1)
    pivot = vecs.abs().argmax(dim=0)
    vecs = vecs * torch.sign(vecs[pivot, torch.arange(vecs.shape[1])])
    return mean.float(), vecs.float(), var.float()
