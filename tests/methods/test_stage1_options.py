"""Stage-1 options: the encoder-only warm-up (`cofi.mi_warmup`) and the unit in which the bit
term reads codes."""

import math

import pytest
import torch

from tests.methods.game import game_options
from ucgen.errors import ConfigError
from ucgen.methods.cofi.stage import Stage1


def two_groups(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """n noisy images around two far-apart templates (B, 1, 8, 8); group = index parity."""
    g = torch.Generator().manual_seed(0)
    group = torch.arange(n) % 2
    templates = torch.stack([torch.full((1, 8, 8), -0.8), torch.full((1, 8, 8), 0.8)])
    return templates[group] + 0.1 * torch.randn(n, 1, 8, 8, generator=g), group


def test_mi_warmup_trains_only_the_encoder_until_it_ends():
    torch.manual_seed(0)
    images, _ = two_groups()
    config = game_options(bits=2, fine_dim=4, width=8, batch_size=8, mi_warmup=2)
    stage = Stage1(config, channels=1, resolution=8)

    def snapshot() -> list[torch.Tensor]:
        return [p.detach().clone() for p in (*stage.G.parameters(), *stage.D.parameters())]

    before = snapshot()
    e_before = [p.detach().clone() for p in stage.E.parameters()]
    for step in range(2):
        logs = stage.train_step(images[:8], None, step)
        assert not {"adv", "bit", "fine", "complete", "d"} & logs.keys()
    assert all(torch.equal(a, b) for a, b in zip(before, snapshot(), strict=True))
    assert not all(torch.equal(a, p) for a, p in zip(e_before, stage.E.parameters(), strict=True))
    logs = stage.train_step(images[:8], None, 2)
    assert {"adv", "bit", "fine", "d"} <= logs.keys()
    assert not all(torch.equal(a, b) for a, b in zip(before, snapshot(), strict=True))


def test_mi_warmup_needs_the_mutual_term():
    with pytest.raises(ConfigError, match="cofi.mi_warmup"):
        game_options(mi_warmup=10, w_mutual=0.0).check()


def test_bit_term_reads_codes_in_the_unit_of_the_real_codes():
    # An encoder whose codes are tiny (as the mutual term alone can leave them) must still give
    # the bit term a real signal: read at face value, every logit ~0 and the loss sits at log 2.
    torch.manual_seed(0)
    images, _ = two_groups()
    config = game_options(bits=2, fine_dim=4, width=8, batch_size=8, w_adv=0.0)
    stage = Stage1(config, channels=1, resolution=8)
    with torch.no_grad():
        stage.E.coarse[-1].weight.mul_(1e-4)
        stage.E.coarse[-1].bias.zero_()
    logs = stage.train_step(images[:8], None, 0)
    assert abs(logs["bit"] - math.log(2)) > 0.1
