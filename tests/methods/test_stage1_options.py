"""Stage-1 options: neighbour pairs (`stage1.mi_neighbours`), the encoder-only warm-up
(`stage1.mi_warmup`), candidate coarse heads (`stage1.mi_heads`), and the unit in which the bit
term reads codes."""

import math

import pytest
import torch

from ucgen.config.schema import Stage1Config
from ucgen.errors import ConfigError
from ucgen.methods.cofi.neighbours import PixelNeighbours
from ucgen.methods.cofi.stage import Stage1


def two_groups(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """n noisy images around two far-apart templates (B, 1, 8, 8); group = index parity."""
    g = torch.Generator().manual_seed(0)
    group = torch.arange(n) % 2
    templates = torch.stack([torch.full((1, 8, 8), -0.8), torch.full((1, 8, 8), 0.8)])
    return templates[group] + 0.1 * torch.randn(n, 1, 8, 8, generator=g), group


def test_neighbours_are_of_the_same_group_and_never_the_image_itself():
    images, group = two_groups()
    index = PixelNeighbours(images, k=5, dims=4).nearest(images)
    assert index.shape == (40, 5)
    assert (group[index] == group[:, None]).all()
    assert not (index == torch.arange(40)[:, None]).any()


def test_nearest_first_and_exact_on_a_line():
    # Images that differ only in brightness lie on a line: the neighbours of image i are
    # i-1 and i+1 (in either order), then i-2 and i+2.
    images = torch.linspace(-1, 1, 21)[:, None, None, None].expand(21, 1, 4, 4).contiguous()
    index = PixelNeighbours(images, k=4, dims=2).nearest(images[10:11])
    assert set(index[0, :2].tolist()) == {9, 11}
    assert set(index[0, 2:].tolist()) == {8, 12}


def test_sample_is_a_training_image_and_deterministic():
    images, _ = two_groups()
    nb = PixelNeighbours(images, k=3, dims=4)
    a = nb.sample(images[:6], torch.Generator().manual_seed(1))
    b = nb.sample(images[:6], torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert all(any(torch.equal(img, t) for t in images) for img in a)


def test_bad_k_names_the_problem():
    images, _ = two_groups(10)
    with pytest.raises(ValueError, match="1 <= k < 10"):
        PixelNeighbours(images, k=10)


def test_stage1_with_neighbours_needs_the_images_and_trains():
    config = Stage1Config(bits=2, fine_dim=4, width=8, batch_size=8, mi_neighbours=3)
    with pytest.raises(ValueError, match="mi_neighbours"):
        Stage1(config, channels=1, resolution=8)
    images, _ = two_groups()
    stage = Stage1(config, channels=1, resolution=8, images=images)
    logs = stage.train_step(images[:8], None, 0)
    assert {"mutual", "augment"} <= logs.keys()


def test_config_rejects_negative_neighbours():
    with pytest.raises(ConfigError, match="stage1.mi_neighbours"):
        Stage1Config(mi_neighbours=-1).check()


def test_mi_warmup_trains_only_the_encoder_until_it_ends():
    torch.manual_seed(0)
    images, _ = two_groups()
    config = Stage1Config(bits=2, fine_dim=4, width=8, batch_size=8, mi_warmup=2)
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
    with pytest.raises(ConfigError, match="stage1.mi_warmup"):
        Stage1Config(mi_warmup=10, w_mutual=0.0).check()


def heads_stage(mi_heads: int = 3) -> Stage1:
    torch.manual_seed(0)
    config = Stage1Config(bits=2, fine_dim=4, width=8, batch_size=8, mi_warmup=2, mi_heads=mi_heads)
    return Stage1(config, channels=1, resolution=8)


def weights(module: torch.nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for t in module.state_dict().values()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_mi_heads_train_in_the_warmup_and_the_lowest_loss_becomes_the_encoders():
    images, _ = two_groups()
    stage = heads_stage()
    start = weights(stage.candidates)
    logs = stage.train_step(images[:8], None, 0)
    assert "candidates" in logs and "coarse_head" not in logs
    assert not same(start, weights(stage.candidates))  # the candidates learn
    # Make candidate 2 (head index 2) the clear winner of the running losses.
    stage.head_losses.copy_(torch.tensor([0.0, 0.5, -1.0], dtype=torch.float64))
    logs = stage.train_step(images[:8], None, 1)  # the last warm-up step chooses
    assert logs["coarse_head"] == 2
    assert same(weights(stage.E.coarse), weights(stage.candidates[1]))
    assert same(weights(stage.E_ema.coarse), weights(stage.candidates_ema[1]))
    assert all(p not in stage.opt_ge.state for p in stage.E.coarse.parameters())
    after = weights(stage.candidates)
    logs = stage.train_step(images[:8], None, 2)
    assert "candidates" not in logs and "coarse_head" not in logs
    assert same(after, weights(stage.candidates))  # left alone once chosen


def test_mi_heads_keep_the_encoders_own_head_when_it_is_best():
    images, _ = two_groups()
    stage = heads_stage()
    stage.train_step(images[:8], None, 0)
    stage.head_losses.copy_(torch.tensor([-1.0, 0.5, 0.0], dtype=torch.float64))
    own = weights(stage.E.coarse)
    logs = stage.train_step(images[:8], None, 1)
    assert logs["coarse_head"] == 0
    assert not same(own, weights(stage.E.coarse))  # trained on, not replaced
    assert not any(same(weights(stage.E.coarse), weights(head)) for head in stage.candidates)


def test_mi_heads_state_round_trip_and_config_errors():
    images, _ = two_groups()
    stage = heads_stage()
    stage.train_step(images[:8], None, 0)
    copy = heads_stage()
    copy.load_state_dict(stage.state_dict())
    assert same(weights(copy.candidates), weights(stage.candidates))
    assert torch.equal(copy.head_losses, stage.head_losses)
    # A checkpoint from before candidate heads existed loads into a one-head stage.
    old = {k: v for k, v in heads_stage(1).state_dict().items() if "candidates" not in k}
    heads_stage(1).load_state_dict({k: v for k, v in old.items() if k != "head_losses"})
    with pytest.raises(ConfigError, match="stage1.mi_heads"):
        Stage1Config(mi_heads=3).check()  # no warm-up to choose at the end of
    with pytest.raises(ConfigError, match="stage1.mi_heads"):
        Stage1Config(mi_heads=0, mi_warmup=10).check()


def test_bit_term_reads_codes_in_the_unit_of_the_real_codes():
    # An encoder whose codes are tiny (as the mutual term alone can leave them) must still give
    # the bit term a real signal: read at face value, every logit ~0 and the loss sits at log 2.
    torch.manual_seed(0)
    images, _ = two_groups()
    config = Stage1Config(bits=2, fine_dim=4, width=8, batch_size=8, w_adv=0.0)
    stage = Stage1(config, channels=1, resolution=8)
    with torch.no_grad():
        stage.E.coarse[-1].weight.mul_(1e-4)
        stage.E.coarse[-1].bias.zero_()
    logs = stage.train_step(images[:8], None, 0)
    assert abs(logs["bit"] - math.log(2)) > 0.1
