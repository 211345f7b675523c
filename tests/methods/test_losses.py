import math

import pytest
import torch

from tests.methods.game import game_options
from ucgen.errors import ConfigError
from ucgen.methods.cofi import losses
from ucgen.methods.cofi.bitcodes import bit_ids


def test_balance_loss_is_small_for_independent_fair_bits_and_large_otherwise():
    z = torch.randn(4096, 3, generator=torch.Generator().manual_seed(0)) * 5
    assert losses.balance_loss(z) < 1e-3
    constant = z.abs()  # every bit +1
    redundant = torch.stack([z[:, 0], z[:, 0], z[:, 1]], dim=1)
    assert losses.balance_loss(constant) > 0.5
    assert losses.balance_loss(redundant) > 0.1


def test_bit_loss_prefers_matching_signs():
    bits = torch.tensor([[1.0, -1.0]])
    assert losses.bit_loss(3 * bits, bits) < losses.bit_loss(-3 * bits, bits)


def test_code_probs_are_a_distribution_peaked_at_the_sign_code():
    z = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    p = losses.code_probs(z, sharpness=1.0)
    assert p.shape == (64, 8)
    assert torch.allclose(p.sum(dim=1), torch.ones(64), atol=1e-6)
    sharp = losses.code_probs(z.sign() * 5, sharpness=8.0)
    assert torch.equal(sharp.argmax(dim=1), bit_ids(z))
    assert sharp.max(dim=1).values.min() > 0.99
    # Blind to the scale of the latents: only which side of each boundary an image is on counts.
    assert torch.allclose(losses.code_probs(z * 100, 1.0), p, atol=1e-6)


def test_mutual_information_rewards_agreeing_balanced_codes_only():
    n = 8
    balanced = torch.eye(n).repeat(16, 1)  # every code equally often, certain
    assert losses.mutual_information_loss(balanced, balanced).item() == pytest.approx(
        -math.log(n), abs=1e-4
    )
    one_code = torch.zeros(128, n)
    one_code[:, 3] = 1
    assert losses.mutual_information_loss(one_code, one_code).item() == pytest.approx(0, abs=1e-4)
    shuffled = balanced[torch.randperm(len(balanced), generator=torch.Generator().manual_seed(0))]
    assert losses.mutual_information_loss(balanced, shuffled) > -0.5 * math.log(n)


def test_augment_zoom_and_intensity_change_images_within_range():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 12, 12, generator=gen) * 2 - 1
    out = losses.augment(x, 0, False, False, generator=gen, zoom=0.2, intensity=0.3)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert (out - x).abs().mean() > 0.01
    flat = torch.full((2, 1, 8, 8), 0.5)
    assert torch.allclose(losses.augment(flat, 0, False, False, gen, zoom=0.3), flat)


def test_augment_rotation_turns_a_bar_and_keeps_a_disc():
    grid = torch.linspace(-1, 1, 16)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    disc = torch.where(xx**2 + yy**2 < 0.4, 1.0, -1.0).expand(8, 1, 16, 16)
    bar = torch.where(yy.abs() < 0.2, 1.0, -1.0).expand(8, 1, 16, 16)
    gen = torch.Generator().manual_seed(0)
    assert (losses.augment(disc, 0, False, False, gen, rotate=180) - disc).abs().mean() < 0.12
    turned = losses.augment(bar, 0, False, False, gen, rotate=180)
    assert (turned - bar).abs().mean() > 0.3


def test_augment_crop_enlarges_what_it_keeps():
    grid = torch.linspace(-1, 1, 16)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    disc = torch.where(xx**2 + yy**2 < 0.2, 1.0, -1.0).expand(64, 1, 16, 16)
    gen = torch.Generator().manual_seed(0)
    cropped = losses.augment(disc, 0, False, False, gen, crop=0.7)
    assert cropped.shape == disc.shape
    # Boxes hold 30-100 % of the area, stretched to the whole: the disc's share grows, by at
    # most 1 / 0.3 (plus a pixel's worth of interpolation).
    share, cropped_share = (disc > 0).float().mean(), (cropped > 0).float().mean(dim=(1, 2, 3))
    assert cropped_share.mean() > 1.3 * share
    assert cropped_share.max() <= share / 0.3 + 0.05
    assert (cropped_share - cropped_share.mean()).abs().max() > 0.02  # boxes differ
    flat = torch.full((4, 1, 8, 8), -0.25)
    assert torch.allclose(losses.augment(flat, 0, False, False, gen, crop=0.9), flat)


def test_augment_shapes_and_hue_rotation_keeps_grey():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 8, 8, generator=gen) * 2 - 1
    out = losses.augment(x, shift=2, flip=True, color=True, generator=gen)
    assert out.shape == x.shape and out.abs().max() <= 1
    grey = x[:, :1].repeat(1, 3, 1, 1)
    assert torch.allclose(losses.augment(grey, 0, False, True, gen), grey, atol=1e-5)
    assert torch.equal(losses.augment(x, 0, False, False, gen), x)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("w_bit", -1.0),
        ("aug_shift", 9),
        ("aug_zoom", 1.0),
        ("mi_sharpness", 0.0),
        ("aug_rotate", 200.0),
        ("aug_crop", 1.0),
        ("aug_crop", -0.1),
    ],
)
def test_config_rejects_bad_values(key, value):
    with pytest.raises(ConfigError, match=f"cofi.{key}"):
        game_options(**{key: value}).check()


def test_config_needs_some_loss():
    weights = ("w_adv", "w_bit", "w_fine", "w_complete", "w_augment", "w_balance", "w_mutual")
    zero = dict.fromkeys(weights, 0.0)
    with pytest.raises(ConfigError, match="at least one loss weight"):
        game_options(**zero).check()
