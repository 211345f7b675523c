"""RCG at tiny scale: the encoder learns, the RDM fits a known mixture, the UNet uses the
representation, save/load/resume are exact, and images depend only on (seed, i)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ucgen.app.driver import load_training_data, train_run
from ucgen.app.trained import TrainedModel
from ucgen.errors import ConfigError
from ucgen.evaluation.generation import fd_features
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.methods.rcg.config import RCGConfig
from ucgen.methods.rcg.stages import (
    RDMStage,
    RepEncoderStage,
    sample_representations,
    two_views,
)
from ucgen.models.condition import Condition
from ucgen.models.rdm import RDMConfig
from ucgen.training.loop import LoopSettings, train_stage

CPU = torch.device("cpu")
SETTINGS = LoopSettings(
    seed=0, log_every=10, sample_every=1000, checkpoint_every=10, progress=False
)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> TrainedModel:
    config = load_config(
        "tiny",
        overrides=[
            "train.method=rcg",
            "diffusion.steps=40",
            "diffusion.lr=2e-3",
            "rcg.rdm_steps=10",
            "data.limit=128",
        ],
    )
    run = Run.create("rcg", config, tmp_path_factory.mktemp("runs"))
    train_run(config, run, progress=False)
    return TrainedModel.load(run.path)


def test_encoder_learns_views_of_one_image_are_closest(tmp_path) -> None:
    """InfoNCE falls, and after training two views of an image are more alike than views of
    different images (a constant or untrained encoder fails both)."""
    config = load_config("tiny", overrides=["train.method=rcg", "data.limit=128"])
    options = dataclasses.replace(config.method, encoder_steps=60, encoder_batch=64)
    data = load_training_data(config)
    stage = RepEncoderStage(options, 3, 16, CPU)
    run = Run.create("enc", config, tmp_path)
    train_stage(stage, data, run, SETTINGS, CPU)
    losses = [r["infonce"] for r in run.read_metrics() if "infonce" in r]
    assert losses[-1] < losses[0] - 0.5
    torch.manual_seed(1)
    a, b = two_views(options, data.tensors()[:64])
    with torch.no_grad():
        za, zb = (F.normalize(stage.model.eval().represent(v), dim=1) for v in (a, b))
    similarity = za @ zb.T
    same = similarity.diagonal().mean()
    other = (similarity.sum() - similarity.diagonal().sum()) / (64 * 63)
    assert same > other + 0.3


class _Identity(torch.nn.Module):
    """An "encoder" whose representations are its inputs (B, D): the RDM then learns them."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.config = RDMConfig(dim=dim)

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _mixture(n: int, seed: int) -> torch.Tensor:
    """A 4-component Gaussian mixture in a 2-d plane of R^8, unit scale."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[2.0, 0], [-2, 0], [0, 2], [0, -2]])
    plane = torch.linalg.qr(torch.randn(8, 2, generator=torch.Generator().manual_seed(0)))[0]
    points = centres[torch.randint(4, (n,), generator=g)] + 0.3 * torch.randn(n, 2, generator=g)
    return points @ plane.T


def test_rdm_fits_a_known_mixture() -> None:
    """FD of RDM samples to the mixture beats the untrained RDM's by a wide margin."""
    options = dataclasses.replace(RCGConfig(), rdm_width=64, rdm_blocks=2, rdm_lr=2e-3)
    torch.manual_seed(0)
    stage = RDMStage(options, _Identity(8), CPU)
    target = _mixture(2000, 1).numpy()
    untrained = fd_features(_samples(stage), target)
    data = _mixture(4096, 2)
    for step in range(400):
        stage.train_step(data[torch.randint(len(data), (128,))], None, step)
    trained = fd_features(_samples(stage), target)
    assert trained < 0.25 * untrained and trained < 1.0, (trained, untrained)


def test_rdm_trains_on_its_encoders_representations_of_the_images() -> None:
    """The stage's inputs, computed once in chunks, are the encoder's representations of the
    same images in the same order. Float32 throughout: another batch size may change only the
    rounding of a few layers' sums, far below 1e-4 of these unit-scale values on any CPU."""
    config = load_config("tiny", overrides=["train.method=rcg"])
    torch.manual_seed(0)
    encoder = RepEncoderStage(config.method, 3, 16, CPU).model.eval()
    stage = RDMStage(config.method, encoder, CPU)
    images = torch.rand(1100, 3, 16, 16) * 2 - 1  # more than one chunk
    with torch.no_grad():
        expected = encoder.represent(images)
    r = stage.inputs(images)
    assert r.shape == (1100, config.method.rep_dim)
    assert torch.allclose(r, expected, atol=1e-4)


def test_drawn_representations_are_standardised_like_the_encoders() -> None:
    """The condition sampler's draws lie where every encoder's representations do (zero mean,
    unit standard deviation per row), however far off the RDM's raw output is."""
    from ucgen.methods.rcg.method import RCGEncoder, RepresentationSampler
    from ucgen.models.rdm import RDM

    torch.manual_seed(0)
    rdm = RDM(RDMConfig(dim=8, width=16, blocks=1)).eval()
    encoder = RCGEncoder(_Identity(8), None, on_clusters=False)
    drawn = RepresentationSampler(encoder, torch.zeros(1, 8), rdm, 4)
    r = drawn.sample(64, torch.Generator().manual_seed(0)).coarse
    assert torch.allclose(r.mean(dim=1), torch.zeros(64), atol=1e-5)
    assert torch.allclose(r.std(dim=1), torch.ones(64), atol=1e-5)
    unprojected = sample_representations(rdm, 64, 0, 4)
    assert (unprojected.std(dim=1) - 1).abs().mean() > 0.05  # the projection did something


def _samples(stage: RDMStage) -> np.ndarray:
    return sample_representations(stage.ema.eval(), 1000, seed=0, steps=16).numpy()


@pytest.mark.parametrize("which", ["rep-encoder", "rdm"])
def test_stages_resume_exactly(tmp_path, which) -> None:
    config = load_config("tiny", overrides=["train.method=rcg", "data.limit=64"])
    data = load_training_data(config)

    def build(steps: int):
        torch.manual_seed(0)
        if which == "rep-encoder":
            options = dataclasses.replace(config.method, encoder_steps=steps)
            return RepEncoderStage(options, 3, 16, CPU)
        options = dataclasses.replace(config.method, rdm_steps=steps)
        encoder = RepEncoderStage(options, 3, 16, CPU).model
        return RDMStage(options, encoder, CPU)

    straight = build(20)
    train_stage(straight, data, Run.create("a", config, tmp_path), SETTINGS, CPU)
    run = Run.create("b", config, tmp_path)
    train_stage(build(10), data, run, SETTINGS, CPU)
    torch.manual_seed(99)
    resumed = build(20)
    train_stage(resumed, data, run, SETTINGS, CPU)
    for key, value in straight.state_dict()["model"].items():
        assert torch.equal(value, resumed.state_dict()["model"][key]), key


def test_unet_responds_to_its_representation(model) -> None:
    """Same noise, two different representations: different images; the same one: equal."""
    cond = model.conditions(2, seed=3)
    assert cond.coarse.shape == (2, 8) and model.parts.continuous
    one = Condition(coarse=cond.coarse[:1].repeat(2, 1))
    two = Condition(coarse=torch.stack([cond.coarse[0], -cond.coarse[0]]))
    same = model.render(one, 2, seed=0).astype(float)
    # Image i's noise depends on (seed, i): render both rows from one seed and one index.
    a = model.render(two.slice(slice(0, 1)), 1, seed=0).astype(float)
    b = model.render(two.slice(slice(1, 2)), 1, seed=0).astype(float)
    assert np.abs(a - b).mean() > 1.0  # of 255
    assert np.array_equal(same[0], model.render(one.slice(slice(0, 1)), 1, seed=0)[0])


def test_save_load_and_seeds_give_identical_images(model) -> None:
    images, cond = model.sample(6, seed=5)
    again = TrainedModel.load(model.run.path)
    images2, cond2 = again.sample(6, seed=5)
    assert np.array_equal(images, images2) and torch.equal(cond.coarse, cond2.coarse)
    first, _ = again.sample(3, seed=5)
    assert np.array_equal(first, images[:3])  # image i depends only on (seed, i)
    assert not np.array_equal(again.sample(3, seed=6)[0], first)


def test_real_and_cluster_samplers(model) -> None:
    real = TrainedModel.load(model.run.path, overrides=["rcg.sampler=real"])
    cond = real.conditions(16, seed=0, code=1)
    assert (cond.code == 1).all() and cond.coarse.shape == (16, 8)
    rdm = model.conditions(8, seed=0, code=2)
    assert (rdm.code == 2).all()


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="rcg.clusters"):
        load_config(
            "tiny", overrides=["train.method=rcg", "rcg.condition=clusters", "rcg.clusters=0"]
        )
    with pytest.raises(ConfigError, match="rcg.sampler"):
        load_config("tiny", overrides=["train.method=rcg", "rcg.sampler=labels"])


def test_a_network_of_ones_own_as_encoder(tmp_path) -> None:
    """Through the Python API any module images -> vectors is RCG's encoder; the run needs it
    again to load, and says so without it."""
    from ucgen.errors import UcgenError
    from ucgen.methods.rcg.method import RCG

    config = load_config(
        "tiny", overrides=["train.method=rcg", "diffusion.steps=2", "data.limit=64"]
    )
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 6))
    run = Run.create("own", config, tmp_path)
    train_run(config, run, progress=False, method=RCG(encoder=net))
    assert not (run.checkpoints / "rep-encoder").exists()
    model = TrainedModel.load(run.path, method=RCG(encoder=net))
    assert model.conditions(4, seed=0).coarse.shape == (4, 6)
    with pytest.raises(UcgenError, match="Python API"):
        TrainedModel.load(run.path)
