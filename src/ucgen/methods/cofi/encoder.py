"""`CoFiEncoder`: the CoFi-UCGen semantic encoder (image -> bit-code + fine coefficients).

coarse = sign(E(x)_c) in {-1, +1}^K, code = its integer id, fine = the coefficients of E(x)_f
in the code's fine basis (`ucgen.methods.cofi.basis`). Stage 2 is trained on these.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ucgen.io.checkpoint import load_component, save_component
from ucgen.methods.cofi.basis import BasisConfig, FineBasis
from ucgen.methods.cofi.bitcodes import bit_ids, signs
from ucgen.models.condition import Condition
from ucgen.models.stage1 import Encoder, Stage1NetConfig


class CoFiEncoder:
    """Frozen stage-1 encoder E plus fine basis; implements `SemanticEncoder`."""

    def __init__(self, encoder: Encoder, basis: FineBasis) -> None:
        if (basis.config.bits, basis.config.fine_dim) != (
            encoder.config.bits,
            encoder.config.fine_dim,
        ):
            raise ValueError(
                f"basis for {basis.config.bits} bits / {basis.config.fine_dim} fine "
                f"dims does not fit an encoder with {encoder.config.bits} / "
                f"{encoder.config.fine_dim}"
            )
        self.net = encoder.eval().requires_grad_(False)
        self.basis = basis
        self.coarse_dim = encoder.config.bits
        self.fine_dim = encoder.config.fine_dim

    @torch.no_grad()
    def latents(self, x: torch.Tensor, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """E(x) in batches: x (N, C, H, W) in [-1, 1] -> z_c (N, K), z_f (N, D)."""
        outs = [self.net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> Condition:
        """x (B, C, H, W) in [-1, 1] -> Condition(coarse (B, K) ±1, fine (B, D), code (B,))."""
        z_c, z_f = self.latents(x)
        codes = bit_ids(z_c)
        return Condition(coarse=signs(z_c), fine=self.basis.coefficients(z_f, codes), code=codes)

    def save(self, folder: Path) -> None:
        """folder/encoder and folder/basis, each config.json + model.safetensors."""
        save_component(self.net, self.net.config, Path(folder) / "encoder")
        save_component(self.basis, self.basis.config, Path(folder) / "basis")

    @classmethod
    def load(cls, folder: Path) -> CoFiEncoder:
        """Rebuild from a folder written by `save` (strict: any mismatch is an error)."""
        folder = Path(folder)
        return cls(
            load_component(Encoder, Stage1NetConfig, folder / "encoder"),
            load_component(FineBasis, BasisConfig, folder / "basis"),
        )


def fit_encoder(encoder: Encoder, images: torch.Tensor, min_count: int = 32) -> CoFiEncoder:
    """A CoFiEncoder whose fine basis is fitted on E(images): images (N, C, H, W) in [-1, 1],
    the (unlabeled) training images. Call once after stage 1."""
    device = next(encoder.parameters()).device
    basis = FineBasis(BasisConfig(encoder.config.bits, encoder.config.fine_dim, min_count))
    basis.to(device)  # fitted and used where the encoder runs
    enc = CoFiEncoder(encoder, basis)
    basis.fit(*enc.latents(images))
    return enc
