"""DiffusionStage: learns, resumes exactly, saves the EMA UNet; the two baselines' parts."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from ucgen.config.schema import DiffusionConfig
from ucgen.data import load_dataset
from ucgen.errors import DataError
from ucgen.methods.baselines import LabelFrequencySampler, LabelOracle
from ucgen.models.hm_unet import load_unet
from ucgen.training.diffusion_stage import DiffusionStage, unet_config

TRAIN = DiffusionConfig(
    width=8, channel_mult=(1, 2), steps=10, batch_size=8, lr=1e-2, ema=0.9, drop_coarse=0.2
)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and the test machine's cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits", "train")  # 8x8, 1 channel, labels 0..9
    return data.subset(np.arange(8))


def oracle_stage(digits, config: DiffusionConfig = TRAIN) -> DiffusionStage:
    oracle = LabelOracle(10)
    unet = unet_config(config, digits.channels, digits.resolution, coarse_dim=oracle.coarse_dim)
    sampler = LabelFrequencySampler(digits.labels, 10)
    return DiffusionStage(config, unet, oracle, sampler.sample, preview_steps=2, preview_count=4)


def eval_loss(stage: DiffusionStage, images: torch.Tensor, labels: torch.Tensor) -> float:
    """EDM loss of the trained weights at fixed noise levels and noise (16 draws per image)."""
    cond = stage.condition_fn(images, labels)
    reps = 16
    coarse = cond.coarse.repeat(reps, 1)
    with torch.no_grad():
        loss = stage.edm.loss(
            lambda x, c: stage.model(x, c, coarse),
            images.repeat(reps, 1, 1, 1),
            generator=torch.Generator().manual_seed(0),
        )
    return loss.mean().item()


def test_stage_overfits_a_handful_of_images(digits) -> None:
    torch.manual_seed(0)
    stage = oracle_stage(digits)
    images = digits.tensors()
    labels = torch.from_numpy(digits.labels)
    before = eval_loss(stage, images, labels)
    losses = [stage.train_step(images, labels, step)["loss"] for step in range(200)]
    after = eval_loss(stage, images, labels)
    # A fresh net outputs F = 0 (zero-initialised output conv): before is the loss of D = c_skip x.
    assert after < 0.5 * before  # measured: about 0.3 * before
    assert np.mean(losses[-20:]) < 0.6 * np.mean(losses[:20])  # measured: about 0.45
    assert stage.step == 200


def test_resume_continues_exactly_and_save_gives_the_ema_unet(digits, tmp_path) -> None:
    images = digits.tensors()
    labels = torch.from_numpy(digits.labels)
    torch.manual_seed(1)
    stage = oracle_stage(digits)
    for step in range(3):
        stage.train_step(images, labels, step)
    state = copy.deepcopy(stage.state_dict())  # it holds live tensors, as torch's do
    rng = torch.get_rng_state()
    expected = [stage.train_step(images, labels, step)["loss"] for step in (3, 4)]

    resumed = oracle_stage(digits)
    resumed.load_state_dict(state)
    torch.set_rng_state(rng)
    assert [resumed.train_step(images, labels, step)["loss"] for step in (3, 4)] == expected
    for a, b in zip(resumed.ema.parameters(), stage.ema.parameters(), strict=True):
        assert torch.equal(a, b)

    stage.save(tmp_path / "unet")
    loaded = load_unet(tmp_path / "unet")
    x, c = torch.randn(2, 1, 8, 8), torch.randn(2)
    coarse = torch.eye(10)[:2]
    with torch.no_grad():
        assert torch.equal(loaded(x, c, coarse), stage.ema(x, c, coarse))
        assert not torch.equal(loaded(x, c, coarse), stage.model(x, c, coarse))


def test_dropping_coarse_always_trains_only_the_null_embedding(digits) -> None:
    config = DiffusionConfig(**{**TRAIN.__dict__, "drop_coarse": 1.0})
    stage = oracle_stage(digits, config)
    proj = stage.model.coarse_proj.detach().clone()
    null = stage.model.coarse_null.detach().clone()
    for step in range(3):  # zero-initialised output layers pass no gradient at first
        stage.train_step(digits.tensors(), torch.from_numpy(digits.labels), step)
    assert torch.equal(stage.model.coarse_proj, proj)
    assert not torch.equal(stage.model.coarse_null, null)


def test_preview_is_uint8_and_reproducible(digits) -> None:
    stage = oracle_stage(digits)
    a = stage.preview(torch.Generator().manual_seed(0))
    assert a.shape == (4, 8, 8, 1) and a.dtype == np.uint8
    assert np.array_equal(a, stage.preview(torch.Generator().manual_seed(0)))


def test_unconditional_stage_needs_no_parts(digits) -> None:
    stage = DiffusionStage(TRAIN, unet_config(TRAIN, 1, 8), preview_steps=2, preview_count=2)
    loss = stage.train_step(digits.tensors(), None, 0)["loss"]
    assert np.isfinite(loss)
    assert stage.preview(torch.Generator().manual_seed(0)).shape == (2, 8, 8, 1)


def test_label_oracle_parts() -> None:
    oracle = LabelOracle(3)
    cond = oracle(torch.zeros(2, 1, 8, 8), torch.tensor([2, 0]))
    assert cond.coarse.tolist() == [[0, 0, 1], [1, 0, 0]] and cond.code.tolist() == [2, 0]
    with pytest.raises(DataError, match="labels"):
        oracle(torch.zeros(2, 1, 8, 8), None)
    sampler = LabelFrequencySampler(np.array([0, 0, 0, 1]), 3)
    drawn = sampler.sample(4000, torch.Generator().manual_seed(0)).code
    assert drawn.max() <= 1  # class 2 never occurs in training, so it is never drawn
    assert (drawn == 0).float().mean().item() == pytest.approx(0.75, abs=0.03)
    assert sampler.sample(3, torch.Generator(), code=2).code.tolist() == [2, 2, 2]
    with pytest.raises(DataError):
        sampler.sample(1, torch.Generator(), code=3)
