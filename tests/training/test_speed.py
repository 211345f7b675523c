"""Speed options change speed, not results: channels_last and torch.compile train as eager does
(within float rounding), compiled checkpoints load uncompiled, and compiled resume is bit-exact.
bf16 mixed precision changes results by rounding only: it still learns, keeps float32 state and
resumes bit-exactly."""

import multiprocessing
import time

import numpy as np
import pytest
import torch

from tests.methods.game import game_options
from ucgen.config.schema import DiffusionConfig
from ucgen.data import ImageDataset
from ucgen.errors import ConfigError
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.methods.cofi.stage import Stage1
from ucgen.runtime import speed
from ucgen.runtime.checkpoints import latest_checkpoint, load_checkpoint
from ucgen.runtime.speed import SpeedSettings, apply_speed, precision_scope
from ucgen.training.diffusion_stage import DiffusionStage, unet_config
from ucgen.training.loop import LoopSettings, train_stage

from ..float_checks import assert_gradients_close, assert_losses_close, flat_gradient
from .toy_stage import ToyStage

CPU = torch.device("cpu")
COMPILED = SpeedSettings(compile="default")


def _stage1():
    config = game_options(bits=2, fine_dim=4, width=8, batch_size=8)
    return Stage1(config, channels=1, resolution=8)


def _diffusion():
    config = DiffusionConfig(width=8, channel_mult=(1, 2), batch_size=8)
    return DiffusionStage(config, unet_config(config, 1, 8))


def _steps(build, speed: SpeedSettings, steps: int = 3):
    """Train a fresh stage `steps` steps on one fixed batch: each step's logged values, and
    each network's gradient of the first step."""
    torch.manual_seed(0)
    stage = build()
    apply_speed(stage.networks(), speed)
    images = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    logs, gradients = [], []
    for step in range(steps):
        logs.append(stage.train_step(images, None, step))
        if step == 0:
            gradients = [flat_gradient(net) for net in stage.networks()]
    return logs, gradients


# Shares of signs and collapse flags are counts: a rounding can flip one near-zero sign.
COUNTS = {"bit_acc", "collapse"}


@pytest.mark.parametrize("build", [_stage1, _diffusion], ids=["stage1", "diffusion"])
def test_channels_last_trains_like_nchw(build):
    nchw_logs, nchw_grads = _steps(build, SpeedSettings(channels_last=False))
    nhwc_logs, nhwc_grads = _steps(build, SpeedSettings(channels_last=True))
    for i, (a, b) in enumerate(zip(nhwc_grads, nchw_grads, strict=True)):
        assert_gradients_close(a, b, f"network {i}")
    for a, b in zip(nhwc_logs, nchw_logs, strict=True):
        assert a.keys() == b.keys()
        assert_losses_close(a, b, sorted(a.keys() - COUNTS))


def test_the_layout_check_fails_for_a_layout_that_changes_the_computation():
    """The bar above is not loose: a network whose NHWC path computed something else (here a
    transposed image) is caught by it."""
    _, plain_grads = _steps(_diffusion, SpeedSettings())

    def transposed():
        stage = _diffusion()
        model = stage.model
        forward = model.forward
        model.forward = lambda x, *a, **k: forward(x.transpose(2, 3), *a, **k).transpose(2, 3)
        return stage

    torch.manual_seed(0)
    _, bad_grads = _steps(transposed, SpeedSettings())
    with pytest.raises(AssertionError, match="relative gradient error"):
        assert_gradients_close(bad_grads[0], plain_grads[0], "network 0")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return ImageDataset(rng.integers(0, 256, (40, 4, 4, 1), dtype=np.uint8), None, "toy")


def _settings(speed: SpeedSettings) -> LoopSettings:
    return LoopSettings(
        seed=3, log_every=2, sample_every=5, checkpoint_every=3, progress=False, speed=speed
    )


def test_compiled_training_matches_eager_and_resumes_bit_exactly(tmp_path, data):
    eager_run = Run.create("eager", load_config("tiny"), tmp_path)
    train_stage(
        ToyStage(data.shape, total_steps=6), data, eager_run, _settings(SpeedSettings()), CPU
    )
    straight = ToyStage(data.shape, total_steps=6)
    run = Run.create("straight", load_config("tiny"), tmp_path)
    train_stage(straight, data, run, _settings(COMPILED), CPU)
    # Compiled kernels may sum in another order: the logged losses agree to float32 rounding.
    eager_losses = [r for r in eager_run.read_metrics() if "loss" in r]
    compiled_losses = [r for r in run.read_metrics() if "loss" in r]
    assert [r["step"] for r in compiled_losses] == [r["step"] for r in eager_losses]
    for a, b in zip(compiled_losses, eager_losses, strict=True):
        assert_losses_close(a, b, ["loss"])

    # The checkpoint of a compiled stage has the plain names and loads into an eager one.
    assert not any("_orig_mod" in k for k in straight.state_dict()["net"])
    plain = ToyStage(data.shape, total_steps=6)
    assert load_checkpoint(plain, latest_checkpoint(run.checkpoints / "toy")) == 6
    for key, value in straight.net.state_dict().items():
        assert torch.equal(plain.net.state_dict()[key], value)

    resumed = _trained_in_two_halves(data, tmp_path, COMPILED)
    for key, value in straight.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[key], value), key


def _trained_in_two_halves(data, tmp_path, speed: SpeedSettings) -> ToyStage:
    """A 6-step ToyStage trained 3 steps, then resumed from its checkpoint in a fresh stage."""
    halves = Run.create("halves", load_config("tiny"), tmp_path)
    train_stage(ToyStage(data.shape, total_steps=3), data, halves, _settings(speed), CPU)
    torch.manual_seed(999)  # a fresh process would have another RNG state
    resumed = ToyStage(data.shape, total_steps=6)
    assert train_stage(resumed, data, halves, _settings(speed), CPU) == 6
    return resumed


def test_speed_options_keep_the_parameter_objects():
    """The optimiser, the EMA update and the gradient all-reduce hold references to the
    parameters taken before the options are applied: they must stay the same tensors."""
    stage = _diffusion()
    before = list(stage.model.parameters())
    apply_speed(stage.networks(), SpeedSettings(channels_last=False, compile="default"))
    assert all(a is b for a, b in zip(before, stage.model.parameters(), strict=True))
    assert stage.optimizer.param_groups[0]["params"] == before
    assert "_orig_mod" not in "".join(stage.model.state_dict())


BF16 = SpeedSettings(precision="bf16")


def test_bf16_trains_a_diffusion_stage_with_float32_losses_and_state(tmp_path):
    """bf16 autocast: the loss falls and is float32; weights and Adam state stay float32."""
    torch.manual_seed(0)
    config = DiffusionConfig(width=8, channel_mult=(1, 2), batch_size=16, steps=40, lr=2e-3)
    stage = DiffusionStage(config, unet_config(config, 1, 8))
    ramps = np.linspace(0, 255, 8, dtype=np.uint8)[None, :, None, None]
    images = np.broadcast_to(ramps, (64, 8, 8, 1))  # one smooth ramp: quick to learn
    data = ImageDataset(np.ascontiguousarray(images), None, "ramps")
    batch = data.tensors()[:16]

    def fixed_loss() -> float:  # the same sigmas and noise each time
        net = lambda x, c: stage.model(x, c, None, None)  # noqa: E731
        with torch.no_grad():
            return stage.edm.loss(net, batch, torch.Generator().manual_seed(5)).mean().item()

    before = fixed_loss()
    run = Run.create("bf16", load_config("tiny"), tmp_path)
    train_stage(stage, data, run, _settings(BF16), CPU)
    losses = [r["loss"] for r in run.read_metrics() if "loss" in r]
    assert all(np.isfinite(losses)) and fixed_loss() < 0.7 * before
    with precision_scope("bf16", CPU):
        out = stage.model(batch, torch.zeros(16), None, None)
    assert out.dtype == torch.float32  # the forward hook hands float32 to the losses
    assert all(p.dtype == torch.float32 for p in stage.model.parameters())
    state = stage.optimizer.state_dict()["state"]
    assert all(v.dtype == torch.float32 for s in state.values() for v in s.values() if v.ndim)


def test_bf16_training_resumes_bit_exactly(tmp_path, data):
    straight = ToyStage(data.shape, total_steps=6)
    train_stage(
        straight, data, Run.create("straight", load_config("tiny"), tmp_path), _settings(BF16), CPU
    )
    resumed = _trained_in_two_halves(data, tmp_path, BF16)
    for key, value in straight.net.state_dict().items():
        assert torch.equal(resumed.net.state_dict()[key], value), key


@pytest.mark.parametrize("key", ["train.precision", "sample.precision"])
def test_precision_must_be_fp32_or_bf16(key):
    with pytest.raises(ConfigError, match=rf"{key}: .*fp32.*bf16.*'fp16'"):
        load_config("tiny", overrides=[f"{key}=fp16"])


def test_bf16_channels_last_keeps_group_norm_networks_nchw():
    plain = torch.nn.Conv2d(4, 4, 3)
    normed = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3), torch.nn.GroupNorm(2, 4))
    apply_speed([plain, normed], SpeedSettings(channels_last=True, precision="bf16"))
    assert plain.weight.is_contiguous(memory_format=torch.channels_last)
    assert not normed[0].weight.is_contiguous(memory_format=torch.channels_last)
    fp32 = torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3), torch.nn.GroupNorm(2, 4))
    apply_speed([fp32], SpeedSettings(channels_last=True))
    assert fp32[0].weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    ("busy", "ranks", "expected"), [(0.1, 1, 4), (1.2, 1, 3), (0.0, 2, 2), (7.0, 1, 1)]
)
def test_auto_threads_takes_the_idle_cores_per_rank(monkeypatch, busy, ranks, expected):
    monkeypatch.setattr(speed.os, "sched_getaffinity", lambda pid: set(range(4)), raising=False)
    monkeypatch.setattr(speed, "busy_cores", lambda: busy)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(ranks))
    assert speed.auto_threads() == expected


def test_busy_cores_sees_a_spinning_process():
    spinner = multiprocessing.get_context("spawn").Process(target=_spin)
    spinner.start()
    try:
        time.sleep(0.5)
        busy = speed.busy_cores()
    finally:
        spinner.kill()
    assert busy >= 0.5


def _spin() -> None:
    while True:
        pass
