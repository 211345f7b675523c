"""The diffusion formulation, stated once: EDM (Karras et al. 2022, "Elucidating the Design Space
of Diffusion-Based Generative Models", arXiv 2206.00364).

Everything about noise lives here and nowhere else: noise levels for sampling (eq. 5), the
preconditioning that turns a raw network F into a denoiser D (eq. 7, Table 1), the training
noise distribution and loss weighting (eq. 8, Table 1), and the deterministic 2nd-order Heun
sampler (Algorithm 1). `EDM` holds numbers only, no weights (diffusers' scheduler/model split):
the network is passed in as a function.

Shapes, stated once: a data batch is (B, ...) of any rank, and every per-sample factor is
broadcast over its trailing dimensions. Images are (B, C, H, W) in [-1, 1], for which
sigma_data = 0.5 is the data scale EDM assumes; RCG's representations are (B, D), standardised
per sample, for which `EDM(sigma_data=1.0)`. Noise levels `sigma` are (B,) tensors (or scalars
broadcast to (B,)).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

# A raw network F(c_in * x, c_noise) -> x's shape (B, ...); conditioning is bound by the caller.
RawNet = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# A denoiser D(x, sigma) -> estimate of the clean data, x's shape (B, ...).
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class EDM:
    """EDM constants (Table 1, "EDM" column) and the operations built from them."""

    sigma_min: float = 0.002
    sigma_max: float = 80.0
    sigma_data: float = 0.5
    rho: float = 7.0
    p_mean: float = -1.2  # training: ln(sigma) ~ N(p_mean, p_std^2)
    p_std: float = 1.2

    def sigma_steps(self, steps: int) -> torch.Tensor:
        """Sampling noise levels, eq. 5, plus the final t_N = 0: shape (steps + 1,), float64.

        sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho.
        With steps == 1 the single level is sigma_max (then one Euler step to 0).
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        i = torch.arange(steps, dtype=torch.float64)
        lo, hi = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        frac = i / (steps - 1) if steps > 1 else i
        sigmas = (hi + frac * (lo - hi)) ** self.rho
        return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)])

    def progress(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """How far along the eq.-5 schedule a noise level lies: 0 at sigma_max, 1 at sigma_min
        (linear in sigma^(1/rho), so step i of N sits at i / (N - 1)); clamped to [0, 1].
        What RCG's guidance ramp is linear in."""
        s = torch.as_tensor(sigma, dtype=torch.float64)
        lo, hi = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return ((hi - s ** (1 / self.rho)) / (hi - lo)).clamp(0, 1)

    def preconditioning(
        self, sigma: torch.Tensor, ndim: int = 4
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(c_skip, c_out, c_in, c_noise) of Table 1 for sigma (B,); the first three shaped
        (B, 1, ..., 1) with `ndim` dimensions, to broadcast over a (B, ...) batch of that rank.

        c_skip = sd^2 / (s^2 + sd^2), c_out = s sd / sqrt(s^2 + sd^2),
        c_in = 1 / sqrt(s^2 + sd^2), c_noise = ln(s) / 4.
        """
        sd2 = self.sigma_data**2
        s = sigma.reshape(-1, *[1] * (ndim - 1))
        denom = s**2 + sd2
        c_skip = sd2 / denom
        c_out = s * self.sigma_data / denom.sqrt()
        c_in = 1 / denom.sqrt()
        c_noise = sigma.reshape(-1).log() / 4
        return c_skip, c_out, c_in, c_noise

    def denoise(self, net: RawNet, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """D(x; sigma) = c_skip x + c_out F(c_in x; c_noise), eq. 7. x: (B, ...), sigma (B,)."""
        c_skip, c_out, c_in, c_noise = self.preconditioning(sigma, x.ndim)
        f = net((c_in * x).to(x.dtype), c_noise.to(x.dtype))
        return (c_skip * x + c_out * f.to(c_out.dtype)).to(x.dtype)

    def training_sigma(
        self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Training noise levels, ln(sigma) ~ N(P_mean, P_std^2) (Table 1): shape (n,)."""
        z = torch.randn(n, generator=generator, device=device)
        return (self.p_mean + self.p_std * z).exp()

    def loss_weight(self, sigma: torch.Tensor) -> torch.Tensor:
        """lambda(sigma) = (s^2 + sd^2) / (s sd)^2 (Table 1), the weight in eq. 8.

        It makes the effective target of F unit-variance at every noise level (eq. 8 rewritten
        in terms of F), so the loss starts near 1 for a fresh network.
        """
        return (sigma**2 + self.sigma_data**2) / (sigma * self.sigma_data) ** 2

    def loss(
        self,
        net: RawNet,
        images: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Per-image EDM loss, eq. 8: lambda(sigma) ||D(y + n; sigma) - y||^2, mean over pixels.

        images: (B, ...) data, e.g. (B, C, H, W) in [-1, 1]; returns (B,). `generator` (on
        the images' device) fixes sigma and the noise (evaluation); None uses the global RNG
        (training, resumable through its saved state).
        """
        b = images.shape[0]
        sigma = self.training_sigma(b, images.device, generator)
        noise = torch.randn(images.shape, generator=generator, device=images.device)
        x = images + noise * sigma.reshape(-1, *[1] * (images.ndim - 1))
        denoised = self.denoise(net, x, sigma)
        err = (denoised - images).square().flatten(1).mean(1)
        return self.loss_weight(sigma) * err

    def heun_sample(
        self,
        denoiser: Denoiser,
        noise: torch.Tensor,
        steps: int,
        init: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """Deterministic sampling, Algorithm 1 (Heun's 2nd-order method on the PF-ODE eq. 4).

        noise: (B, ...) standard normal, the data's shape; x_0 = sigma_0 * noise. Each step is
        an Euler step followed by a trapezoidal correction, except the last step to sigma = 0,
        which is Euler only (Algorithm 1, line 6): 2 * steps - 1 denoiser evaluations in all.
        Returns the clean estimate, shaped as noise, not clipped.

        With `init` (shaped as noise), SDEdit (Meng et al. 2022): only the last
        max(1, round(strength * steps)) levels of the schedule are integrated, from
        init + sigma * noise at the first of them, so the result keeps what that much noise
        leaves of init (the layout at strength ~0.5) and redraws the rest.
        """
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        sigmas = self.sigma_steps(steps).tolist()
        if init is None:
            x = noise.to(torch.float32) * sigmas[0]
        else:
            sigmas = sigmas[steps - max(1, round(strength * steps)) :]
            x = init.to(torch.float32) + noise.to(torch.float32) * sigmas[0]
        b = x.shape[0]
        for s_cur, s_next in itertools.pairwise(sigmas):
            t_cur = x.new_full((b,), s_cur)
            d_cur = (x - denoiser(x, t_cur)) / s_cur
            x_next = x + (s_next - s_cur) * d_cur
            if s_next > 0:
                t_next = x.new_full((b,), s_next)
                d_next = (x_next - denoiser(x_next, t_next)) / s_next
                x_next = x + (s_next - s_cur) * (0.5 * d_cur + 0.5 * d_next)
            x = x_next
        return x
