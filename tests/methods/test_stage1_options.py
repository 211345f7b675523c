"""Stage-1 options: the encoder-only warm-up (`cofi.mi_warmup`), its candidate coarse heads
(`cofi.mi_heads`) and the unit in which the bit term reads codes."""

import copy
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


def test_the_candidate_head_of_lowest_mutual_loss_becomes_the_encoders():
    # The encoder's own head starts constant (every image in one code: mutual term 0, and no
    # gradient to leave it), the candidates random (the term is minus a mutual information:
    # below 0 as soon as a head's codes vary); at the warm-up's last step the lowest running
    # loss, a candidate's, must take the own head's place.
    torch.manual_seed(0)
    images, _ = two_groups()
    config = game_options(bits=2, fine_dim=4, width=8, batch_size=8, mi_warmup=5, mi_heads=3)
    stage = Stage1(config, channels=1, resolution=8)
    with torch.no_grad():
        for e in (stage.E, stage.E_ema):
            e.coarse[-1].weight.zero_()
            e.coarse[-1].bias.fill_(1.0)
    logs = [stage.train_step(images[8 * s : 8 * s + 8], None, s) for s in range(5)]
    assert not any("coarse_head" in step for step in logs[:-1])
    best = int(logs[-1]["coarse_head"])
    assert best > 0
    assert stage.candidates.running[best] == stage.candidates.running.min()
    assert stage.candidates.running[best] < stage.candidates.running[0]
    for e, heads in ((stage.E, stage.candidates.heads), (stage.E_ema, stage.candidates.heads_ema)):
        chosen = heads[best - 1].state_dict()
        assert all(torch.equal(v, chosen[k]) for k, v in e.coarse.state_dict().items())
    # The chosen head's codes, not the constant ones, are the bit-codes from here on.
    codes = stage.E_ema(images)[0]
    assert (codes > 0).any(dim=0).logical_and((codes < 0).any(dim=0)).any()


def test_candidate_heads_resume_with_their_running_losses():
    torch.manual_seed(0)
    images, _ = two_groups()
    config = game_options(bits=2, fine_dim=4, width=8, batch_size=8, mi_warmup=4, mi_heads=2)
    stage = Stage1(config, channels=1, resolution=8)
    stage.train_step(images[:8], None, 0)
    resumed = Stage1(config, channels=1, resolution=8)
    resumed.load_state_dict(copy.deepcopy(stage.state_dict()))  # it holds live tensors
    assert torch.equal(resumed.candidates.running, stage.candidates.running)
    assert resumed.candidates.running.abs().sum() > 0
    steps = []
    for s in (stage, resumed):
        torch.manual_seed(1)
        steps.append(s.train_step(images[8:16], None, 1))
    assert steps[0] == steps[1]
    assert torch.equal(resumed.candidates.running, stage.candidates.running)
    for a, b in zip(stage.candidates.parameters(), resumed.candidates.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("values", [{"mi_heads": 0}, {"mi_heads": 3, "mi_warmup": 0}])
def test_candidate_heads_need_a_warm_up_to_choose_in(values):
    options = {"mi_warmup": 10, **values}
    with pytest.raises(ConfigError, match="cofi.mi_heads"):
        game_options(**options).check()
