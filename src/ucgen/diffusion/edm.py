"""The diffusion formulation, stated once: EDM (Karras et al. 2022, "Elucidating the Design Space
of Diffusion-Based Generative Models", arXiv 2206.00364).

Everything about noise lives here and nowhere else: noise levels for sampling (eq. 5), the
preconditioning that turns a raw network F into a denoiser D (eq. 7, Table 1), the training
noise distribution and loss weighting (eq. 8, Table 1), and two deterministic 2nd-order
solvers of the probability-flow ODE (eq. 4) on the same noise levels: EDM's Heun sampler
(Algorithm 1, two denoiser evaluations per step) and DPM-Solver++(2M) (Lu et al. 2022,
"DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic Models",
arXiv 2211.01095, Algorithm 2; one evaluation per step), and the first-order Euler step they
both refine (DDIM; what a step-distilled student is trained to take). `EDM` holds numbers
only, no weights (diffusers' scheduler/model split): the network is passed in as a function.

Shapes, stated once: a data batch is (B, ...) of any rank, and every per-sample factor is
broadcast over its trailing dimensions. Images are (B, C, H, W) in [-1, 1], for which
sigma_data = 0.5 is the data scale EDM assumes; RCG's representations are (B, D), standardised
per sample, for which `EDM(sigma_data=1.0)`. Noise levels `sigma` are (B,) tensors (or scalars
broadcast to (B,)).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ucgen.config.schema import Solver

# A raw network F(c_in * x, c_noise) -> x's shape (B, ...); conditioning is bound by the caller.
RawNet = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# A denoiser D(x, sigma) -> estimate of the clean data, x's shape (B, ...).
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# The noise levels a sampler passes: eq. 5's `steps` levels (`EDM.sigma_steps`), or the levels
# themselves, decreasing and positive, to which the final 0 is appended (a step-distilled
# student's, `ucgen.training.distill_stage`).
Steps = int | Sequence[float]


def level_count(steps: Steps) -> int:
    """How many noise levels (before the final 0) `steps` stands for."""
    return steps if isinstance(steps, int) else len(steps)


def integrated_levels(steps: int, strength: float = 1.0) -> int:
    """How many of the `steps` noise levels of eq. 5 a sampler integrates from: all of them
    from pure noise (strength 1), the last max(1, round(strength * steps)) from an image
    (SDEdit, Meng et al. 2022)."""
    if not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    return max(1, round(strength * steps))


def nfe(solver: Solver, steps: Steps, strength: float = 1.0) -> int:
    """Denoiser evaluations per image of `EDM.sample` (times the 1 to 3 UNet predictions that
    classifier-free guidance batches into each evaluation): Heun 2 L - 1, DPM-Solver++(2M) and
    Euler L, for the L = `integrated_levels(level_count(steps), strength)` levels integrated."""
    levels = integrated_levels(level_count(steps), strength)
    return 2 * levels - 1 if solver == "heun" else levels


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

    def levels(self, steps: Steps) -> list[float]:
        """The levels a sampler passes for `steps`, decreasing, ending with 0: eq. 5's
        (`sigma_steps`) for a count, else the given levels and 0."""
        if isinstance(steps, int):
            return self.sigma_steps(steps).tolist()
        given = [float(s) for s in steps]
        if not given or given[-1] <= 0 or any(a <= b for a, b in itertools.pairwise(given)):
            raise ValueError(f"noise levels must be positive and decreasing, got {given}")
        return [*given, 0.0]

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

    def start(
        self,
        noise: torch.Tensor,
        steps: Steps,
        init: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> tuple[torch.Tensor, list[float]]:
        """Where sampling starts and the levels it passes, shared by both solvers.

        noise: (B, ...) standard normal, the data's shape. Without `init`: x = sigma_0 * noise
        and all of `levels(steps)`. With `init` (shaped as noise), SDEdit (Meng et al.
        2022): only the last `integrated_levels(level_count(steps), strength)` levels (and 0),
        from init + sigma * noise at the first of them, so the result keeps what that much noise
        leaves of init (the layout at strength ~0.5) and redraws the rest.
        Returns x (float32) and the levels, decreasing, ending with 0.
        """
        count = level_count(steps)
        levels = integrated_levels(count, strength)
        sigmas = self.levels(steps)
        if init is None:
            return noise.to(torch.float32) * sigmas[0], sigmas
        sigmas = sigmas[count - levels :]
        return init.to(torch.float32) + noise.to(torch.float32) * sigmas[0], sigmas

    def sample(
        self,
        denoiser: Denoiser,
        noise: torch.Tensor,
        steps: Steps,
        solver: Solver = "heun",
        init: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """The clean estimate, shaped as noise, not clipped, from `solver` over `steps` levels;
        `nfe(solver, steps, strength)` denoiser evaluations. See `start` for noise, init and
        strength."""
        if solver == "heun":
            return self.heun_sample(denoiser, noise, steps, init, strength)
        if solver == "dpmpp2m":
            return self.dpmpp2m_sample(denoiser, noise, steps, init, strength)
        if solver == "euler":
            return self.euler_sample(denoiser, noise, steps, init, strength)
        raise ValueError(f"unknown solver {solver!r}: heun, dpmpp2m or euler")

    def euler_sample(
        self,
        denoiser: Denoiser,
        noise: torch.Tensor,
        steps: Steps,
        init: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """Deterministic first-order sampling (Algorithm 1 without its correction; DDIM in
        EDM's parametrisation): x_{i+1} = (sigma_{i+1} / sigma_i) x_i
        + (1 - sigma_{i+1} / sigma_i) D(x_i; sigma_i), one evaluation per level, the last
        (to 0) returning D itself. See `start` for the rest.
        """
        x, sigmas = self.start(noise, steps, init, strength)
        b = x.shape[0]
        for s_cur, s_next in itertools.pairwise(sigmas):
            denoised = denoiser(x, x.new_full((b,), s_cur))
            x = (s_next / s_cur) * x + (1 - s_next / s_cur) * denoised
        return x

    def heun_sample(
        self,
        denoiser: Denoiser,
        noise: torch.Tensor,
        steps: Steps,
        init: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """Deterministic sampling, Algorithm 1 (Heun's 2nd-order method on the PF-ODE eq. 4).

        noise: (B, ...) standard normal, the data's shape; x_0 = sigma_0 * noise (or the
        SDEdit start of `start`). Each step is an Euler step followed by a trapezoidal
        correction, except the last step to sigma = 0, which is Euler only (Algorithm 1,
        line 6): 2 L - 1 denoiser evaluations for L levels.
        Returns the clean estimate, shaped as noise, not clipped.
        """
        x, sigmas = self.start(noise, steps, init, strength)
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

    def dpmpp2m_sample(
        self,
        denoiser: Denoiser,
        noise: torch.Tensor,
        steps: Steps,
        init: torch.Tensor | None = None,
        strength: float = 1.0,
    ) -> torch.Tensor:
        """Deterministic sampling, DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) in EDM's
        parametrisation, on the same levels as Heun (eq. 5, or the SDEdit part of `start`).

        With EDM's s(t) = 1 the PF-ODE (eq. 4) in lambda = -ln(sigma) has the exact solution
        x(sigma_next) = (sigma_next / sigma) x(sigma) + sigma_next * integral of
        e^lambda D(x_lambda, sigma_lambda) over [lambda, lambda_next]: D (the denoiser, the
        data prediction) is the only part left to approximate. Step i, h_i = ln(sigma_i /
        sigma_{i+1}), takes D as the linear extrapolation in lambda through this level's and
        the previous level's D:
            x_{i+1} = (sigma_{i+1} / sigma_i) x_i - expm1(-h_i) D'_i,
            D'_i = (1 + 1 / (2 r_i)) D_i - D_{i-1} / (2 r_i),  r_i = h_{i-1} / h_i.
        The first step (no previous D) is first order (D'_0 = D_0: DDIM), and the last, to
        sigma = 0 (h = inf), returns D itself. One denoiser evaluation per level: L for L
        levels, against Heun's 2 L - 1.
        Returns the clean estimate, shaped as noise, not clipped.
        """
        x, sigmas = self.start(noise, steps, init, strength)
        b = x.shape[0]
        previous: tuple[torch.Tensor, float] | None = None  # (D_{i-1}, h_{i-1})
        for s_cur, s_next in itertools.pairwise(sigmas):
            denoised = denoiser(x, x.new_full((b,), s_cur))
            if s_next == 0:  # h = inf: sigma_next / sigma = 0, expm1(-h) = -1
                x = denoised
                continue
            h = math.log(s_cur / s_next)
            target = denoised
            if previous is not None:
                r = previous[1] / h
                target = (1 + 1 / (2 * r)) * denoised - previous[0] / (2 * r)
            x = (s_next / s_cur) * x - math.expm1(-h) * target
            previous = (denoised, h)
        return x
