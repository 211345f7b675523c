import pytest
import torch

from ucgen.config.schema import Stage1Config
from ucgen.errors import ConfigError
from ucgen.methods.cofi import losses


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


def test_augment_shapes_and_hue_rotation_keeps_grey():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 8, 8, generator=gen) * 2 - 1
    out = losses.augment(x, shift=2, flip=True, color=True, generator=gen)
    assert out.shape == x.shape and out.abs().max() <= 1
    grey = x[:, :1].repeat(1, 3, 1, 1)
    assert torch.allclose(losses.augment(grey, 0, False, True, gen), grey, atol=1e-5)
    assert torch.equal(losses.augment(x, 0, False, False, gen), x)


@pytest.mark.parametrize(("key", "value"), [("w_bit", -1.0), ("aug_shift", 9)])
def test_config_rejects_bad_values(key, value):
    with pytest.raises(ConfigError, match=f"stage1.{key}"):
        Stage1Config(**{key: value}).check()


def test_config_needs_some_loss():
    zero = dict.fromkeys(("w_adv", "w_bit", "w_fine", "w_complete", "w_augment", "w_balance"), 0.0)
    with pytest.raises(ConfigError, match="at least one loss weight"):
        Stage1Config(**zero).check()
