"""EDM formulation: noise levels, preconditioning, loss and the Heun sampler."""

from __future__ import annotations

import math

import pytest
import torch

from ucgen.diffusion.edm import EDM

EDM0 = EDM()


def test_sigma_steps_follow_eq5() -> None:
    sigmas = EDM0.sigma_steps(18)
    assert sigmas.shape == (19,)
    assert sigmas[0].item() == pytest.approx(80.0)
    assert sigmas[-2].item() == pytest.approx(0.002)
    assert sigmas[-1].item() == 0.0
    assert bool((sigmas[1:] < sigmas[:-1]).all())
    # rho = 7: sigma^(1/7) is evenly spaced between the end points.
    root = sigmas[:-1] ** (1 / 7)
    torch.testing.assert_close(root.diff(), root.diff()[:1].expand(17))
    assert EDM0.sigma_steps(1).tolist() == [80.0, 0.0]
    with pytest.raises(ValueError):
        EDM0.sigma_steps(0)


def test_preconditioning_matches_table1_at_sigma_data() -> None:
    c_skip, c_out, c_in, c_noise = EDM0.preconditioning(torch.tensor([0.5]))
    assert c_skip.shape == (1, 1, 1, 1)
    assert c_skip.item() == pytest.approx(0.5)
    assert c_out.item() == pytest.approx(0.5 / math.sqrt(2))
    assert c_in.item() == pytest.approx(1 / (0.5 * math.sqrt(2)))
    assert c_noise.item() == pytest.approx(math.log(0.5) / 4)


def test_loss_weight_makes_the_effective_target_unit_weight() -> None:
    """lambda(sigma) c_out(sigma)^2 = 1 (eq. 8 rewritten in terms of F)."""
    sigma = torch.logspace(-3, 2, 11)
    _, c_out, _, _ = EDM0.preconditioning(sigma)
    torch.testing.assert_close(EDM0.loss_weight(sigma) * c_out.flatten() ** 2, torch.ones(11))


def test_zero_network_has_unit_loss_on_data_with_sigma_data_scale() -> None:
    """With F = 0, D = c_skip x and the expected loss is exactly 1 for data of std sigma_data:
    a fresh (zero-output) UNet starts at loss ~1, whatever the noise level."""
    g = torch.Generator().manual_seed(0)
    images = 0.5 * torch.randn(4096, 1, 4, 4, generator=g)
    loss = EDM0.loss(lambda x, c: torch.zeros_like(x), images, generator=g)
    assert loss.shape == (4096,)
    assert loss.mean().item() == pytest.approx(1.0, abs=0.05)


def test_loss_is_zero_for_the_perfect_denoiser_of_one_image() -> None:
    image = torch.rand(1, 1, 4, 4) * 2 - 1
    images = image.expand(8, -1, -1, -1)

    def oracle_f(x_in: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        # invert eq. 7 so that D(x; sigma) = image exactly
        sigma = (4 * c_noise).exp()
        c_skip, c_out, c_in, _ = EDM0.preconditioning(sigma)
        return (image - c_skip * x_in / c_in) / c_out

    loss = EDM0.loss(oracle_f, images, generator=torch.Generator().manual_seed(0))
    assert loss.max().item() < 1e-8


def test_heun_uses_2n_minus_1_evaluations_and_converges_at_second_order() -> None:
    """For data ~ N(0, sd^2 I) the ideal denoiser is x sd^2 / (sigma^2 + sd^2) and the ODE maps
    the noise n to n sigma_max sd / sqrt(sigma_max^2 + sd^2) exactly. Doubling the steps must
    cut the error about 4x (2nd order; Euler would only halve it)."""
    calls = []

    def ideal(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        calls.append(sigma[0].item())
        return x * 0.25 / (sigma.reshape(-1, 1, 1, 1) ** 2 + 0.25)

    noise = torch.randn(8, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    exact = noise * 80 * 0.5 / math.sqrt(80**2 + 0.25)
    out = EDM0.heun_sample(ideal, noise, steps=18)
    assert len(calls) == 35
    assert calls[-1] == pytest.approx(0.002)  # the last step to sigma = 0 is Euler only
    err18 = ((out - exact).norm() / exact.norm()).item()
    err36 = ((EDM0.heun_sample(ideal, noise, steps=36) - exact).norm() / exact.norm()).item()
    assert err18 < 0.06
    assert err36 < 0.35 * err18
    # Deterministic: the output is a fixed function of the noise.
    assert torch.equal(EDM0.heun_sample(ideal, noise, steps=18), out)


def test_heun_from_an_image_integrates_only_the_last_levels_exactly() -> None:
    """SDEdit: with init y and strength 0.5 over 18 steps, sampling starts at the 10th level
    s = sigma_9 from y + s n and runs the remaining 9 levels (17 evaluations). For data
    ~ N(0, sd^2 I) the ODE maps that start to (y + s n) sd / sqrt(s^2 + sd^2) exactly."""
    calls = []

    def ideal(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        calls.append(sigma[0].item())
        return x * 0.25 / (sigma.reshape(-1, 1, 1, 1) ** 2 + 0.25)

    gen = torch.Generator().manual_seed(0)
    noise, init = torch.randn(2, 8, 1, 4, 4, generator=gen)
    start = EDM0.sigma_steps(18)[9].item()
    out = EDM0.heun_sample(ideal, noise, steps=18, init=init, strength=0.5)
    assert len(calls) == 17 and calls[0] == pytest.approx(start)
    exact = (init + start * noise) * 0.5 / math.sqrt(start**2 + 0.25)
    assert ((out - exact).norm() / exact.norm()).item() < 0.07  # 9 levels: 0.05
    with pytest.raises(ValueError, match=r"strength must be in \(0, 1\], got 0"):
        EDM0.heun_sample(ideal, noise, steps=18, init=init, strength=0)
