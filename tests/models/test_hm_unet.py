"""HM-UNet: shapes, config validation, level-specific conditioning, save/load."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from ucgen.errors import CheckpointError, ConfigError
from ucgen.io.checkpoint import save_component
from ucgen.models.hm_unet import HMUNet, HMUNetConfig, load_unet

TINY = HMUNetConfig(
    in_channels=1, resolution=8, width=8, channel_mult=(1, 2, 2), coarse_dim=3, fine_dim=6
)


def randomized(config: HMUNetConfig, seed: int = 0) -> HMUNet:
    """A net whose zero-initialised layers (output convs, nulls) are perturbed, so every
    input and condition visibly reaches the output, as after some training."""
    torch.manual_seed(seed)
    net = HMUNet(config)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return net.eval()


def inputs(config: HMUNetConfig, b: int = 4, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, config.in_channels, config.resolution, config.resolution, generator=g)
    c_noise = torch.randn(b, generator=g)
    coarse = torch.randn(b, config.coarse_dim, generator=g) if config.coarse_dim else None
    fine = torch.randn(b, config.fine_dim, generator=g) if config.fine_dim else None
    return x, c_noise, coarse, fine


@pytest.mark.parametrize(
    "config",
    [
        HMUNetConfig(in_channels=1, resolution=8, width=8, channel_mult=(1, 2)),
        HMUNetConfig(in_channels=3, resolution=8, width=8, channel_mult=(1, 2), coarse_dim=4),
        HMUNetConfig(in_channels=1, resolution=12, width=8, channel_mult=(1, 1, 2), attention=True),
        TINY,
        HMUNetConfig(
            in_channels=1,
            resolution=8,
            width=8,
            num_res_blocks=2,
            channel_mult=(1, 2),
            coarse_dim=2,
            fine_dim=3,
            fine_schedule="flat",
        ),
    ],
)
def test_output_shape_matches_input(config: HMUNetConfig) -> None:
    net = randomized(config)
    x, c_noise, coarse, fine = inputs(config)
    assert net(x, c_noise, coarse, fine).shape == x.shape


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"resolution": 10}, "resolution"),
        ({"fine_dim": 4, "coarse_dim": 0}, "fine_dim"),
        ({"width": 2}, "width"),
        ({"channel_mult": ()}, "channel_mult"),
        ({"fine_schedule": "random"}, "fine_schedule"),
        ({"channel_mult": (1,), "coarse_dim": 2, "fine_dim": 2}, "progressive"),
    ],
)
def test_bad_config_names_the_key(changes: dict, key: str) -> None:
    config = dataclasses.replace(TINY, **changes)
    with pytest.raises(ConfigError, match=key):
        config.check()


def test_fine_prefix_grows_from_none_at_the_bottom_to_all_at_the_top() -> None:
    config = HMUNetConfig(resolution=8, channel_mult=(1, 2, 2, 2), coarse_dim=2, fine_dim=10)
    # n_l = ceil(D * l / (L - 1)) for resolution level l counted from the bottom.
    assert [config.fine_prefix(level) for level in range(4)] == [0, 4, 7, 10]
    net = HMUNet(config)
    # slots: down levels (high -> low res), middle, up levels (low -> high res); the down and
    # up level of one resolution see the same prefix, the lowest level and the middle none.
    assert config.slot_prefixes() == [10, 7, 4, 0, 0, 0, 4, 7, 10]
    assert net.fine_mask.sum(dim=1).tolist() == [10, 7, 4, 0, 0, 0, 4, 7, 10]
    assert net.fine_mask[1].tolist() == [1.0] * 7 + [0.0] * 3
    assert net.fine_mask[7].tolist() == [1.0] * 7 + [0.0] * 3


def test_two_levels_give_fine_to_the_top_level_only() -> None:
    """The digits preset's 2 levels: the rule degenerates to all-or-nothing per resolution."""
    config = HMUNetConfig(resolution=8, channel_mult=(1, 2), coarse_dim=2, fine_dim=5)
    assert config.slot_prefixes() == [5, 0, 0, 0, 5]


def test_flat_schedule_gives_every_slot_all_fine() -> None:
    config = dataclasses.replace(TINY, fine_schedule="flat")
    assert config.slot_prefixes() == [TINY.fine_dim] * 7


def test_graded_schedule_feeds_the_lowest_level_the_strongest_directions_only() -> None:
    """TINY's 3 levels and 6 coefficients: prefixes 2 / 4 / 6 from the bottom, the middle 2.
    The lowest level's embeddings follow the first 2 coefficients and none after them."""
    config = dataclasses.replace(TINY, fine_schedule="graded")
    assert config.slot_prefixes() == [6, 4, 2, 2, 2, 4, 6]
    net = randomized(config)
    _, c_noise, coarse, fine = inputs(config)
    low = lowest_level_embeddings(net, c_noise, coarse, fine)
    weak = fine.clone()
    weak[:, 2:] *= -1
    strong = fine.clone()
    strong[:, :2] *= -1
    for a, b in zip(low, lowest_level_embeddings(net, c_noise, coarse, weak), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(low, lowest_level_embeddings(net, c_noise, coarse, strong), strict=True):
        assert (a - b).abs().max() > 1e-3


def lowest_level_embeddings(net: HMUNet, *args: torch.Tensor | None) -> list[torch.Tensor]:
    """The condition embeddings of the slots at the lowest resolution: down level L-1, middle,
    up level 0 (slots L-1, L, L+1)."""
    c_noise, coarse, fine = args
    n = net.config.levels
    with torch.no_grad():
        emb = net.embeddings(c_noise, coarse, fine, None, None)
    return [emb[n - 1], emb[n], emb[n + 1]]


def test_fine_condition_never_modulates_the_lowest_resolution() -> None:
    """The lowest-resolution blocks (down, middle, up) are modulated by time + coarse only:
    their embeddings are exactly unchanged when fine is changed or dropped. (Their activations
    are not: fine enters the higher-resolution down blocks and flows down into them.)"""
    net = randomized(TINY)
    _, c_noise, coarse, fine = inputs(TINY)
    low = lowest_level_embeddings(net, c_noise, coarse, fine)
    low_fine = lowest_level_embeddings(net, c_noise, coarse, -fine)
    low_drop = lowest_level_embeddings(net, c_noise, coarse, None)
    low_coarse = lowest_level_embeddings(net, c_noise, -coarse, fine)
    for a, b, c in zip(low, low_fine, low_drop, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(low, low_coarse, strict=True))
    with torch.no_grad():
        emb = net.embeddings(c_noise, coarse, fine, None, None)
        emb_fine = net.embeddings(c_noise, coarse, -fine, None, None)
    changed = [bool((a - b).abs().max() > 1e-3) for a, b in zip(emb, emb_fine, strict=True)]
    # TINY has 3 levels: down (high, mid, low res), middle, up (low, mid, high res).
    assert changed == [True, True, False, False, False, True, True]


def test_fine_reaches_the_down_path_and_the_output() -> None:
    """Fine modulates the top down level, so it changes the skip it sends up and the output."""
    net = randomized(TINY)
    x, c_noise, coarse, fine = inputs(TINY)
    seen: list[torch.Tensor] = []
    hook = net.down[0].register_forward_hook(lambda _m, _i, out: seen.append(out))
    with torch.no_grad():
        out = net(x, c_noise, coarse, fine)
        out_fine = net(x, c_noise, coarse, -fine)
    hook.remove()
    assert (seen[0] - seen[1]).abs().max() > 1e-3
    assert (out_fine - out).abs().max() > 1e-3


def test_flat_schedule_feeds_fine_everywhere() -> None:
    """The ablation: the middle slot sees fine too, so the embedding test above has teeth."""
    config = dataclasses.replace(TINY, fine_schedule="flat")
    net = randomized(config)
    _, c_noise, coarse, fine = inputs(config)
    low = lowest_level_embeddings(net, c_noise, coarse, fine)
    low_fine = lowest_level_embeddings(net, c_noise, coarse, -fine)
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(low, low_fine, strict=True))


def test_keep_masks_drop_per_image_and_coarse_drop_takes_fine() -> None:
    net = randomized(TINY)
    x, c_noise, coarse, fine = inputs(TINY)
    with torch.no_grad():
        uncond = net(x, c_noise)
        coarse_only = net(x, c_noise, coarse)
        full = net(x, c_noise, coarse, fine)
        mixed = net(
            x, c_noise, coarse, fine, torch.tensor([0, 1, 1, 0]), torch.tensor([1, 0, 1, 1])
        )
        other_fine = net(x, c_noise, coarse, -fine, torch.zeros(4), torch.ones(4))
    torch.testing.assert_close(mixed[0], uncond[0])  # coarse dropped: fine ignored too
    torch.testing.assert_close(mixed[1], coarse_only[1])
    torch.testing.assert_close(mixed[2], full[2])
    torch.testing.assert_close(other_fine, uncond)
    assert (coarse_only - uncond).abs().max() > 1e-3
    assert (full - coarse_only).abs().max() > 1e-3


def test_unconditional_net_has_no_condition_weights() -> None:
    net = HMUNet(HMUNetConfig(resolution=8, width=8, channel_mult=(1, 2)))
    assert not any("coarse" in k or "fine" in k for k in net.state_dict())


def test_save_load_gives_identical_outputs(tmp_path) -> None:
    net = randomized(TINY)
    save_component(net, TINY, tmp_path / "unet")
    loaded = load_unet(tmp_path / "unet").eval()
    assert loaded.config == TINY
    x, c_noise, coarse, fine = inputs(TINY)
    with torch.no_grad():
        assert torch.equal(net(x, c_noise, coarse, fine), loaded(x, c_noise, coarse, fine))


@pytest.mark.parametrize("key, value", [("width", 16), ("fine_dim", 0), ("attention", True)])
def test_load_with_mismatched_config_fails(tmp_path, key: str, value) -> None:
    save_component(HMUNet(TINY), TINY, tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    raw[key] = value
    (tmp_path / "config.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError):
        load_unet(tmp_path)


def test_middle_resolution_sees_only_its_prefix_of_fine() -> None:
    net = randomized(TINY)  # D = 6 over 3 levels: resolutions see 0, 3 and 6 coefficients
    _, c_noise, coarse, fine = inputs(TINY)
    tail, head = fine.clone(), fine.clone()
    tail[:, 3:] += 1.0
    head[:, :3] += 1.0
    with torch.no_grad():
        embs = [net.embeddings(c_noise, coarse, f, None, None) for f in (fine, tail, head)]
    for slot in (1, 5):  # down and up level of the middle resolution
        assert torch.equal(embs[0][slot], embs[1][slot])
        assert (embs[0][slot] - embs[2][slot]).abs().max() > 1e-3
    for slot in (0, 6):  # the top resolution sees all 6
        assert (embs[0][slot] - embs[1][slot]).abs().max() > 1e-3


def test_condition_of_the_wrong_size_is_refused() -> None:
    net = HMUNet(TINY)
    x, c_noise, coarse, fine = inputs(TINY)
    with pytest.raises(ValueError, match=r"coarse condition has shape \(4, 2\)"):
        net(x, c_noise, coarse[:, :2], fine)
    uncond = HMUNet(dataclasses.replace(TINY, coarse_dim=0, fine_dim=0))
    with pytest.raises(ValueError, match="no such condition"):
        uncond(x, c_noise, coarse)


def test_channels_last_layout_changes_nothing_but_speed() -> None:
    net = randomized(TINY)
    assert net.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    nchw = randomized(TINY)
    with torch.no_grad():
        for p in nchw.parameters():
            p.data = p.data.contiguous()
    x, c_noise, coarse, fine = inputs(TINY)
    with torch.no_grad():
        out = net(x, c_noise, coarse, fine)
        torch.testing.assert_close(out, nchw(x, c_noise, coarse, fine), atol=1e-5, rtol=1e-5)
    assert out.shape == x.shape
