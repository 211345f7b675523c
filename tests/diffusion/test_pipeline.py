"""Sampling pipeline: determinism, per-image seeds, guidance."""

from __future__ import annotations

import pytest
import torch

from ucgen.diffusion.edm import EDM
from ucgen.diffusion.pipeline import generate, guided_denoiser, image_noise
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet, HMUNetConfig

CONFIG = HMUNetConfig(
    in_channels=1, resolution=8, width=8, channel_mult=(1, 2), coarse_dim=3, fine_dim=4
)


@pytest.fixture(scope="module")
def unet() -> HMUNet:
    torch.manual_seed(0)
    net = HMUNet(CONFIG)
    with torch.no_grad():  # perturb the zero-initialised layers so conditions matter
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net.eval()


def condition(n: int, seed: int = 0) -> Condition:
    g = torch.Generator().manual_seed(seed)
    return Condition(coarse=torch.randn(n, 3, generator=g), fine=torch.randn(n, 4, generator=g))


def test_image_noise_depends_only_on_seed_and_index() -> None:
    a = image_noise(7, range(0, 5), (1, 4, 4))
    b = image_noise(7, range(3, 6), (1, 4, 4))
    assert a.shape == (5, 1, 4, 4)
    assert torch.equal(a[3:], b[:2])
    assert not torch.equal(a[0], a[1])
    assert not torch.equal(a, image_noise(8, range(0, 5), (1, 4, 4)))
    # (seed, index) pairs are mixed, not added: (0, 1) and (1, 0) differ.
    assert not torch.equal(image_noise(0, range(1, 2), (4,)), image_noise(1, range(0, 1), (4,)))


def test_generate_shape_range_and_determinism(unet: HMUNet) -> None:
    cond = condition(3)
    a = generate(unet, cond, 3, seed=1, steps=2)
    assert a.shape == (3, 1, 8, 8) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, generate(unet, cond, 3, seed=1, steps=2))
    assert not torch.equal(a, generate(unet, cond, 3, seed=2, steps=2))


def test_image_i_is_the_same_whatever_the_batch_size(unet: HMUNet) -> None:
    cond = condition(5)
    whole = generate(unet, cond, 5, seed=3, steps=2, batch_size=5)
    split = generate(unet, cond, 5, seed=3, steps=2, batch_size=2)
    first = generate(unet, cond.slice(slice(0, 3)), 3, seed=3, steps=2, batch_size=1)
    torch.testing.assert_close(split, whole, atol=1e-3, rtol=0)  # batched conv rounding
    torch.testing.assert_close(first, whole[:3], atol=1e-3, rtol=0)


def test_unit_guidance_is_one_plain_conditional_pass(unet: HMUNet) -> None:
    cond = condition(4)
    x = torch.randn(4, 1, 8, 8)
    sigma = torch.full((4,), 2.0)
    calls = []
    hook = unet.register_forward_hook(lambda _m, args, _o: calls.append(args[0].shape[0]))
    with torch.no_grad():
        guided = guided_denoiser(unet, cond, 1.0, 1.0)(x, sigma)
        plain = EDM().denoise(lambda xi, cn: unet(xi, cn, cond.coarse, cond.fine), x, sigma)
    hook.remove()
    assert calls == [4, 4]  # one pass of batch 4 for the guided call, one for the plain one
    assert torch.equal(guided, plain)


def test_guidance_combines_uncond_coarse_and_full_in_one_batched_pass(unet: HMUNet) -> None:
    cond = condition(4)
    x = torch.randn(4, 1, 8, 8)
    sigma = torch.full((4,), 1.5)
    edm = EDM()
    calls = []
    hook = unet.register_forward_hook(lambda _m, args, _o: calls.append(args[0].shape[0]))
    with torch.no_grad():
        guided = guided_denoiser(unet, cond, 3.0, 2.0)(x, sigma)
    hook.remove()
    assert calls == [12]
    with torch.no_grad():
        d_u = edm.denoise(lambda xi, cn: unet(xi, cn), x, sigma)
        d_c = edm.denoise(lambda xi, cn: unet(xi, cn, cond.coarse), x, sigma)
        d_f = edm.denoise(lambda xi, cn: unet(xi, cn, cond.coarse, cond.fine), x, sigma)
    expected = d_u + 3.0 * (d_c - d_u) + 2.0 * (d_f - d_c)
    torch.testing.assert_close(guided, expected, atol=1e-5, rtol=1e-5)
    # Only the coarse scale active: two predictions (coarse-only is not needed).
    calls.clear()
    hook = unet.register_forward_hook(lambda _m, args, _o: calls.append(args[0].shape[0]))
    with torch.no_grad():
        coarse_guided = guided_denoiser(unet, cond, 3.0, 3.0)(x, sigma)
    hook.remove()
    assert calls == [8]
    torch.testing.assert_close(coarse_guided, d_u + 3.0 * (d_f - d_u), atol=1e-5, rtol=1e-5)


def test_guidance_changes_samples_and_unconditional_ignores_scales(unet: HMUNet) -> None:
    cond = condition(2)
    plain = generate(unet, cond, 2, seed=0, steps=2)
    assert not torch.equal(plain, generate(unet, cond, 2, seed=0, steps=2, guidance_coarse=2.0))
    uncond = generate(unet, None, 2, seed=0, steps=2)
    assert torch.equal(uncond, generate(unet, None, 2, seed=0, steps=2, guidance_coarse=3.0))


def test_condition_length_must_match_n(unet: HMUNet) -> None:
    with pytest.raises(ValueError, match="rows"):
        generate(unet, condition(3), 4, seed=0, steps=2)


def test_bf16_sampling_is_fp32_sampling_up_to_rounding(unet: HMUNet) -> None:
    cond = condition(4)
    full = generate(unet, cond, 4, seed=1, steps=4)
    half = generate(unet, cond, 4, seed=1, steps=4, precision="bf16")
    assert half.dtype == torch.float32  # the Heun integration stays float32
    diff = (half - full).abs()
    # bf16 keeps ~3 significant digits of F: measured mean 0.006, max 0.07 (range [-1, 1])
    assert 0 < diff.mean() < 0.02 and diff.max() < 0.2


def test_linear_guidance_ramps_from_unguided_to_guided() -> None:
    """RCG's ramp: at sigma_max the guided denoiser is the plain conditional one, at sigma_min
    it is the constant-scale guided one."""

    def unet(x, c_noise, coarse, fine, keep_coarse=None, keep_fine=None):
        keep = torch.ones(len(x)) if keep_coarse is None else keep_coarse
        return x * 0 + (keep * coarse[:, 0])[:, None, None, None]

    edm = EDM()
    cond = Condition(coarse=torch.ones(2, 1))
    x = torch.randn(2, 1, 4, 4)
    plain = guided_denoiser(unet, cond, 1.0, 1.0, edm)
    constant = guided_denoiser(unet, cond, 3.0, 3.0, edm)
    ramp = guided_denoiser(unet, cond, 3.0, 3.0, edm, schedule="linear")
    for sigma, expected in ((edm.sigma_max, plain), (edm.sigma_min, constant)):
        s = torch.full((2,), sigma)
        torch.testing.assert_close(ramp(x, s), expected(x, s))
    middle = torch.full((2,), 1.0)
    assert not torch.allclose(ramp(x, middle), constant(x, middle))
