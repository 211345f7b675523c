"""The ODE solvers behind `sample.solver`: DPM-Solver++(2M) against Heun on a case whose exact
solution is known, evaluation counts, per-image determinism, SDEdit starts, config checks."""

from __future__ import annotations

import math

import pytest
import torch

from ucgen.cli.main import main
from ucgen.diffusion.edm import EDM, nfe
from ucgen.diffusion.pipeline import generate
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet, HMUNetConfig

EDM0 = EDM()
SD2 = EDM0.sigma_data**2


class Ideal:
    """The exact denoiser of data ~ N(0, sd^2 I): D(x, sigma) = x sd^2 / (sigma^2 + sd^2).
    Along the PF-ODE x(sigma) = x(sigma_0) sqrt(sigma^2 + sd^2) / sqrt(sigma_0^2 + sd^2),
    so every sample's end point is known. Counts its calls and records the levels."""

    def __init__(self) -> None:
        self.levels: list[float] = []

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.levels.append(sigma[0].item())
        return x * SD2 / (sigma.reshape(-1, 1, 1, 1) ** 2 + SD2)


def exact_end(start: torch.Tensor, sigma: float) -> torch.Tensor:
    """The PF-ODE's value at sigma = 0 from `start` at `sigma`, for the Gaussian data above."""
    return start * math.sqrt(SD2) / math.sqrt(sigma**2 + SD2)


def relative_error(out: torch.Tensor, exact: torch.Tensor) -> float:
    return ((out - exact).norm() / exact.norm()).item()


NOISE = torch.randn(8, 1, 4, 4, generator=torch.Generator().manual_seed(0))
EXACT = exact_end(NOISE * 80, 80.0)


@pytest.mark.parametrize("steps", [4, 6, 8, 12])
def test_dpmpp2m_beats_heun_at_equal_evaluations(steps: int) -> None:
    """At the same number of denoiser evaluations DPM-Solver++(2M) (one a level) has a smaller
    error than Heun (two a level, on half as many levels): the few-step regime it is for."""
    dpm = Ideal()
    out = EDM0.sample(dpm, NOISE, steps, "dpmpp2m")
    assert len(dpm.levels) == steps == nfe("dpmpp2m", steps)
    heun_steps = (steps + 1) // 2  # 2 L - 1 <= steps evaluations
    heun = Ideal()
    ref = EDM0.sample(heun, NOISE, heun_steps, "heun")
    assert len(heun.levels) == nfe("heun", heun_steps) <= steps
    assert relative_error(out, EXACT) < relative_error(ref, EXACT)


def test_dpmpp2m_converges_at_second_order_and_beats_first_order() -> None:
    """Doubling the levels cuts the error about 4x (2nd order). A solver that dropped the
    multistep correction (DDIM: first order) would only halve it, and one with the wrong sign
    or weight of D_{i-1} would not converge to the exact end point."""
    errors = [relative_error(EDM0.sample(Ideal(), NOISE, n, "dpmpp2m"), EXACT) for n in (16, 32)]
    assert errors[0] < 0.1  # measured 0.080 (first order: 0.17)
    assert errors[1] < 0.3 * errors[0]  # measured 0.21x (first order: 0.51x)
    # The first step is first order (no previous D), and the last step returns D itself.
    calls = Ideal()
    EDM0.dpmpp2m_sample(calls, NOISE, 2)
    assert calls.levels == pytest.approx([80.0, 0.002])


def test_one_point_data_is_solved_exactly_whatever_the_steps() -> None:
    """For data that is a single image y, D = y at every level and the data-prediction form
    integrates the ODE exactly: the end point is y from any noise, with any number of steps."""
    y = torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for steps in (1, 2, 3, 7):
        out = EDM0.sample(lambda x, s: y.expand_as(x), NOISE, steps, "dpmpp2m")
        torch.testing.assert_close(out, y.expand_as(out))


@pytest.mark.parametrize("solver", ["heun", "dpmpp2m"])
def test_strength_integrates_only_the_last_levels(solver: str) -> None:
    """SDEdit: with init y and strength 0.5 over 18 levels both solvers start at the 10th level
    s = sigma_9 from y + s n and integrate 9 levels (nfe: Heun 17, DPM-Solver++ 9 evaluations);
    the Gaussian case's exact end point is (y + s n) sd / sqrt(s^2 + sd^2)."""
    noise, init = torch.randn(2, 8, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    start = EDM0.sigma_steps(18)[9].item()
    calls = Ideal()
    out = EDM0.sample(calls, noise, 18, solver, init=init, strength=0.5)  # type: ignore[arg-type]
    assert len(calls.levels) == nfe(solver, 18, 0.5)  # type: ignore[arg-type]
    assert nfe("heun", 18, 0.5) == 17 and nfe("dpmpp2m", 18, 0.5) == 9
    assert calls.levels[0] == pytest.approx(start)
    assert relative_error(out, exact_end(init + start * noise, start)) < 0.07
    with pytest.raises(ValueError, match=r"strength must be in \(0, 1\], got 0"):
        EDM0.sample(calls, noise, 18, solver, init=init, strength=0)  # type: ignore[arg-type]


def test_unknown_solver_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown solver 'rk4'"):
        EDM0.sample(Ideal(), NOISE, 4, "rk4")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def unet() -> HMUNet:
    torch.manual_seed(0)
    net = HMUNet(
        HMUNetConfig(
            in_channels=1, resolution=8, width=8, channel_mult=(1, 2), coarse_dim=3, fine_dim=4
        )
    )
    with torch.no_grad():  # perturb the zero-initialised layers so conditions matter
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net.eval()


def test_dpmpp2m_image_i_is_the_same_whatever_the_batch_size_with_guidance(unet: HMUNet) -> None:
    g = torch.Generator().manual_seed(0)
    cond = Condition(coarse=torch.randn(5, 3, generator=g), fine=torch.randn(5, 4, generator=g))
    kw = {"steps": 3, "guidance_coarse": 2.0, "guidance_fine": 1.5, "solver": "dpmpp2m"}
    whole = generate(unet, cond, 5, seed=3, batch_size=5, **kw)  # type: ignore[arg-type]
    split = generate(unet, cond, 5, seed=3, batch_size=2, **kw)  # type: ignore[arg-type]
    torch.testing.assert_close(split, whole, atol=1e-3, rtol=0)  # batched conv rounding
    assert torch.equal(whole, generate(unet, cond, 5, seed=3, batch_size=5, **kw))  # type: ignore[arg-type]
    heun = generate(unet, cond, 5, seed=3, batch_size=5, **{**kw, "solver": "heun"})  # type: ignore[arg-type]
    assert not torch.equal(whole, heun)


def test_dpmpp2m_starts_from_an_image(unet: HMUNet) -> None:
    """strength near 0 keeps the start image (one level of small noise); strength 1 starts
    at sigma_max, where 80 times the noise swamps it."""
    init = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(4)) * 2 - 1
    kw = {"steps": 10, "solver": "dpmpp2m"}
    kept = generate(unet, None, 2, seed=0, init=init, strength=0.1, **kw)  # type: ignore[arg-type]
    redrawn = generate(unet, None, 2, seed=0, init=init, strength=1.0, **kw)  # type: ignore[arg-type]
    assert (kept - init).abs().mean() < 0.05 < (redrawn - init).abs().mean()


def test_bad_solver_or_rho_is_a_one_line_error_naming_the_key(tmp_path, capsys) -> None:
    argv = ["train", "--preset", "tiny", "--runs-dir", str(tmp_path), "--dry-run"]
    assert main([*argv, "--set", "sample.solver=rk4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "ucgen: error: sample.solver: must be one of heun, dpmpp2m, euler; got 'rk4'"
    assert main([*argv, "--set", "sample.rho=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "ucgen: error: sample.rho: must be in (0, 100], got 0.0"
    assert main([*argv, "--set", "sample.solver=dpmpp2m", "--set", "sample.rho=10"]) == 0
    out = capsys.readouterr().out
    assert '"solver": "dpmpp2m"' in out and '"rho": 10.0' in out


def test_euler_is_first_order_on_eq5_or_given_levels() -> None:
    """Euler (DDIM) takes one evaluation a level and halves its error when the levels double
    (first order, where DPM-Solver++(2M) quarters it); given levels are sampled exactly as
    eq. 5's count of the same levels, and levels that are not positive and decreasing are
    refused."""
    errors = [relative_error(EDM0.sample(Ideal(), NOISE, n, "euler"), EXACT) for n in (16, 32)]
    assert 0.35 < errors[1] / errors[0] < 0.65
    calls = Ideal()
    out = EDM0.sample(calls, NOISE, 5, "euler")
    assert len(calls.levels) == nfe("euler", 5) == 5
    given = EDM0.sigma_steps(5)[:-1].tolist()
    assert torch.equal(EDM0.sample(Ideal(), NOISE, given, "euler"), out)
    assert nfe("euler", given) == 5 and nfe("heun", given) == 9
    partial = Ideal()
    EDM0.sample(partial, NOISE, given, "euler", init=torch.zeros_like(NOISE), strength=0.4)
    assert partial.levels == pytest.approx(given[-2:])
    for bad in ([], [1.0, 2.0], [3.0, 0.0], [2.0, 2.0]):
        with pytest.raises(ValueError, match="positive and decreasing"):
            EDM0.sample(Ideal(), NOISE, bad, "euler")
