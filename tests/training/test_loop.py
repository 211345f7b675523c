import numpy as np
import pytest
import torch

from ucgen.data import ImageDataset
from ucgen.errors import TrainingError
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.runtime.checkpoints import complete_checkpoints
from ucgen.training.loop import LoopSettings, batch_indices, train_stage

from .toy_stage import ToyStage

CPU = torch.device("cpu")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return ImageDataset(rng.integers(0, 256, (40, 4, 4, 1), dtype=np.uint8), None, "toy")


def settings(**kw):
    return LoopSettings(
        seed=3, log_every=2, sample_every=5, checkpoint_every=3, progress=False, **kw
    )


def test_loss_falls_and_run_folder_describes_itself(tmp_path, data):
    run = Run.create("r", load_config("tiny"), tmp_path)
    stage = ToyStage(data.shape, total_steps=60)
    assert train_stage(stage, data, run, settings(), CPU) == 60
    losses = [r["loss"] for r in run.read_metrics()]
    assert len(losses) == 30 and losses[-1] < 0.5 * losses[0]
    assert (run.samples / "toy-step0000060.png").is_file()
    names = [p.name for p in complete_checkpoints(run.checkpoints / "toy")]
    assert names == ["step-0000057", "step-0000060"]  # older ones pruned


def test_resume_is_bit_exact(tmp_path, data):
    straight = ToyStage(data.shape, total_steps=10)
    train_stage(straight, data, Run.create("a", load_config("tiny"), tmp_path), settings(), CPU)

    run = Run.create("b", load_config("tiny"), tmp_path)
    first = ToyStage(data.shape, total_steps=6)  # stops after the step-6 checkpoint
    train_stage(first, data, run, settings(), CPU)
    torch.manual_seed(999)  # a fresh process would have another RNG state
    resumed = ToyStage(data.shape, total_steps=10)
    assert train_stage(resumed, data, run, settings(), CPU) == 10
    for a, b in zip(straight.net.parameters(), resumed.net.parameters(), strict=True):
        assert torch.equal(a, b)


def test_divergence_stops_and_keeps_last_good_checkpoint(tmp_path, data):
    run = Run.create("d", load_config("tiny"), tmp_path)
    stage = ToyStage(data.shape, total_steps=20, blow_up_at=7)
    with pytest.raises(TrainingError, match="loss 'loss' became nan at step 8.*step-0000006"):
        train_stage(stage, data, run, settings(), CPU)
    assert [p.name for p in complete_checkpoints(run.checkpoints / "toy")][-1] == "step-0000006"


def test_batch_order_is_a_function_of_seed_and_step():
    a = batch_indices(5, 100, 8, seed=1)
    assert torch.equal(a, batch_indices(5, 100, 8, seed=1))
    assert not torch.equal(a, batch_indices(5, 100, 8, seed=2))
    epoch = torch.cat([batch_indices(s, 100, 10, seed=1) for s in range(10)])
    assert sorted(epoch.tolist()) == list(range(100))


def test_kill_during_a_save_keeps_the_previous_checkpoint(tmp_path, data):
    class DiesWhileSaving(ToyStage):
        def save(self, folder):
            if self.dying:
                (folder / "half.bin").parent.mkdir(parents=True, exist_ok=True)
                (folder / "half.bin").write_bytes(b"x")
                raise SystemExit("killed mid-save")
            super().save(folder)

    run = Run.create("k", load_config("tiny"), tmp_path)
    stage = DiesWhileSaving(data.shape, total_steps=6)
    stage.dying = False
    train_stage(stage, data, run, settings(), CPU)
    stage = DiesWhileSaving(data.shape, total_steps=9)
    stage.dying = True
    with pytest.raises(SystemExit):
        train_stage(stage, data, run, settings(), CPU)
    folder = run.checkpoints / "toy"
    assert [p.name for p in complete_checkpoints(folder)][-1] == "step-0000006"
    resumed = ToyStage(data.shape, total_steps=9)
    assert train_stage(resumed, data, run, settings(), CPU) == 9
    assert not list(folder.glob(".step-*"))  # the half-written folder was cleaned up


def test_rollback_continues_from_last_good_checkpoint_with_lower_lr(tmp_path, data):
    run = Run.create("rb", load_config("tiny"), tmp_path)
    stage = ToyStage(data.shape, total_steps=20, blow_up_at=7, blow_up_once=True)
    s = settings(on_divergence="rollback", rollback_lr_factor=0.5)
    assert train_stage(stage, data, run, s, CPU) == 20
    events = [r for r in run.read_metrics() if r.get("event") == "rollback"]
    assert len(events) == 1 and events[0]["step"] == 6 and "nan" in events[0]["reason"]
    assert stage.opt.param_groups[0]["lr"] == pytest.approx(0.5e-2)


def test_rollbacks_are_bounded(tmp_path, data):
    run = Run.create("rb2", load_config("tiny"), tmp_path)
    stage = ToyStage(data.shape, total_steps=20, blow_up_at=7)
    s = settings(on_divergence="rollback", max_rollbacks=2)
    with pytest.raises(TrainingError, match="became nan"):
        train_stage(stage, data, run, s, CPU)
    assert len([r for r in run.read_metrics() if r.get("event") == "rollback"]) == 2


def test_a_reported_collapse_stops_training(tmp_path, data):
    run = Run.create("c", load_config("tiny"), tmp_path)
    stage = ToyStage(data.shape, total_steps=20, collapse=True)
    with pytest.raises(TrainingError, match="collapsed in every batch of steps 1-2"):
        train_stage(stage, data, run, settings(), CPU)


def test_training_noise_does_not_replay_the_initialisation_seed(tmp_path, data):
    # The driver seeds torch with train.seed before building the networks; the training noise
    # of a fresh stage must come from a stream of its own, not that seed again.
    class RecordsNoise(ToyStage):
        def train_step(self, images, labels, step):
            if step == 0:
                self.first_noise = torch.rand(8)
            return super().train_step(images, labels, step)

    stage = RecordsNoise(data.shape, total_steps=1)
    train_stage(stage, data, Run.create("n", load_config("tiny"), tmp_path), settings(), CPU)
    torch.manual_seed(settings().seed)
    assert not torch.equal(stage.first_noise, torch.rand(8))


def test_a_value_reported_on_some_steps_is_logged_as_its_own_mean(tmp_path, data):
    # Stage 1 reports the chosen coarse head once; averaging it over the steps that did not
    # report it logged head 4 as 0.2 (log_every 20).
    class ReportsOnce(ToyStage):
        def train_step(self, images, labels, step):
            return {
                **super().train_step(images, labels, step),
                **({"head": 4.0} if step == 2 else {}),
            }

    run = Run.create("o", load_config("tiny"), tmp_path)
    train_stage(ReportsOnce(data.shape, total_steps=4), data, run, settings(), CPU)
    rows = run.read_metrics()
    assert [r.get("head") for r in rows] == [None, 4.0]
    assert all("loss" in r for r in rows)
