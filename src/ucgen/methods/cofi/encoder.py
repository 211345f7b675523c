"""`CoFiEncoder`: the CoFi-UCGen semantic encoder (image -> bit-code + fine coefficients).

coarse = sign(E(x)_c) in {-1, +1}^K, code = its integer id, fine = the coefficients of z_f
in the code's fine basis (`ucgen.methods.cofi.basis`), where z_f is E(x)_f or, with a fine
encoder trained through the diffusion loss (`ucgen.methods.cofi.fine_stage`), F(x). Stage 2 is
trained on these.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ucgen.io.checkpoint import load_component, save_component
from ucgen.methods.cofi.basis import BasisConfig, FineBasis
from ucgen.methods.cofi.bitcodes import bit_ids, signs
from ucgen.models.condition import Condition
from ucgen.models.fine_encoder import FineEncoderConfig, FineEncoderNet
from ucgen.models.stage1 import Encoder, Stage1NetConfig


class CoFiEncoder:
    """Frozen stage-1 encoder E plus fine basis, and optionally a fine encoder F that gives z_f
    in place of E's fine head; implements `SemanticEncoder`.

    gan_basis: the basis of E's own fine vectors, through which the stage-1 generator (trained
    on E's fine space) reads fine coefficients; it is `basis` when there is no F.
    """

    def __init__(
        self,
        encoder: Encoder,
        basis: FineBasis,
        fine: FineEncoderNet | None = None,
        gan_basis: FineBasis | None = None,
    ) -> None:
        if (basis.config.bits, basis.config.fine_dim) != (
            encoder.config.bits,
            encoder.config.fine_dim,
        ):
            raise ValueError(
                f"basis for {basis.config.bits} bits / {basis.config.fine_dim} fine "
                f"dims does not fit an encoder with {encoder.config.bits} / "
                f"{encoder.config.fine_dim}"
            )
        if fine is not None and fine.config.fine_dim != encoder.config.fine_dim:
            raise ValueError(
                f"fine encoder of {fine.config.fine_dim} dims for {encoder.config.fine_dim}"
            )
        self.net = encoder.eval().requires_grad_(False)
        self.fine = None if fine is None else fine.eval().requires_grad_(False)
        self.basis = basis
        self.gan_basis = basis if gan_basis is None else gan_basis
        self.coarse_dim = encoder.config.bits
        self.fine_dim = encoder.config.fine_dim

    @torch.no_grad()
    def latents(self, x: torch.Tensor, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
        """E(x) in batches: x (N, C, H, W) in [-1, 1] -> z_c (N, K), z_f (N, D) (from F
        where there is one)."""
        z_c, z_f = self.stage1_latents(x, batch_size)
        if self.fine is not None:
            chunks = range(0, len(x), batch_size)
            z_f = torch.cat([self.fine(x[i : i + batch_size]) for i in chunks])
        return z_c, z_f

    @torch.no_grad()
    def stage1_latents(
        self, x: torch.Tensor, batch_size: int = 512
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """E(x) alone: z_c (N, K), E's own z_f (N, D)."""
        outs = [self.net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> Condition:
        """x (B, C, H, W) in [-1, 1] -> Condition(coarse (B, K) ±1, fine (B, D), code (B,))."""
        z_c, z_f = self.latents(x)
        codes = bit_ids(z_c)
        return Condition(coarse=signs(z_c), fine=self.basis.coefficients(z_f, codes), code=codes)

    def save(self, folder: Path) -> None:
        """folder/encoder, folder/fine (with a fine encoder), folder/gan-basis (where the
        stage-1 generator's basis is not `basis`) and folder/basis (written last: it marks
        the folder complete), each config.json + model.safetensors."""
        save_component(self.net, self.net.config, Path(folder) / "encoder")
        if self.fine is not None:
            save_component(self.fine, self.fine.config, Path(folder) / "fine")
        if self.gan_basis is not self.basis:
            save_component(self.gan_basis, self.gan_basis.config, Path(folder) / "gan-basis")
        save_component(self.basis, self.basis.config, Path(folder) / "basis")

    @classmethod
    def load(cls, folder: Path) -> CoFiEncoder:
        """Rebuild from a folder written by `save` (strict: any mismatch is an error)."""
        folder = Path(folder)
        fine, gan_basis = None, None
        if (folder / "fine").is_dir():
            fine = load_component(FineEncoderNet, FineEncoderConfig, folder / "fine")
        if (folder / "gan-basis").is_dir():
            gan_basis = load_component(FineBasis, BasisConfig, folder / "gan-basis")
        return cls(
            load_component(Encoder, Stage1NetConfig, folder / "encoder"),
            load_component(FineBasis, BasisConfig, folder / "basis"),
            fine,
            gan_basis,
        )


def fit_encoder(
    encoder: Encoder,
    images: torch.Tensor,
    min_count: int = 32,
    fine: FineEncoderNet | None = None,
    whiten: bool = False,
) -> CoFiEncoder:
    """A CoFiEncoder whose fine basis is fitted on its latents of `images` (N, C, H, W) in
    [-1, 1], the (unlabeled) training images. Call once after the semantic stages. whiten:
    the HM-UNet's coefficients in units of each direction's spread (`FineBasis`); the stage-1
    generator's basis is never whitened (it reads its own fine space)."""
    device = next(encoder.parameters()).device

    def new_basis(whiten: bool) -> FineBasis:
        config = BasisConfig(encoder.config.bits, encoder.config.fine_dim, min_count, whiten)
        return FineBasis(config).to(device)  # fitted and used where the encoder runs

    basis = new_basis(whiten)
    gan_basis = None if fine is None and not whiten else new_basis(False)
    enc = CoFiEncoder(encoder, basis, fine, gan_basis)
    basis.fit(*enc.latents(images))
    if gan_basis is not None:
        gan_basis.fit(*enc.stage1_latents(images))
    return enc
