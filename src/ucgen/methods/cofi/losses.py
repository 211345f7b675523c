"""The losses of adversarial semantic reciprocal learning (CoFi-UCGen stage 1), in one place.

Adversarial (hinge, BiGAN/ALI joint pairs): D separates real pairs (x, E(x)) from generated
pairs (G(z), z); G and E together try to swap them. At the optimum the joint distributions
match, so E and G invert each other and E(x)_c follows the prior: balanced, fair bits.
Reciprocal terms make the inversion semantic and fast:
  consistency  E(G(z)) recovers z: logistic bit loss on z_c, squared error on z_f;
  completeness G(E(x)) stays close to x: pixel L1;
  augmentation bits of E(x) survive label-free augmentations (shifts, optional flips);
  balance      every bit of E(x) is a fair coin over a batch (a cheap first-moment guard
               against a bit that is constant on the data while D is still weak).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_hinge(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss; real, fake: (B,) scores of real and generated pairs."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def ge_adversarial(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """G and E's side of the hinge game: make real pairs look generated and vice versa."""
    return real.mean() - fake.mean()


def bit_loss(z_c_hat: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """Logistic loss of predicted coarse latents (B, K) against target signs (B, K) in ±1."""
    return F.softplus(-bits * z_c_hat).mean()


def fine_loss(z_f_hat: torch.Tensor, z_f: torch.Tensor) -> torch.Tensor:
    """Squared error of the recovered fine latent (B, D), averaged over entries."""
    return F.mse_loss(z_f_hat, z_f)


def completeness_loss(x_rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Pixel L1 between G(E(x)) and x, both (B, C, H, W) in [-1, 1]."""
    return (x_rec - x).abs().mean()


def balance_loss(z_c_hat: torch.Tensor) -> torch.Tensor:
    """Squared batch mean of the soft bits tanh(z_c_hat) (B, K): zero when each bit is 50/50."""
    return torch.tanh(z_c_hat).mean(dim=0).pow(2).mean()


def augment(
    x: torch.Tensor, shift: int, flip: bool, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Label-free augmentation of (B, C, H, W): random integer shifts of up to `shift` pixels
    (edge-replicated borders) and, if `flip`, random horizontal flips."""
    b, _, h, w = x.shape
    out = x
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift), mode="replicate")
        dy, dx = torch.randint(0, 2 * shift + 1, (2, b), generator=generator).tolist()
        out = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        out = torch.where(mask.to(x.device)[:, None, None, None], out.flip(3), out)
    return out
