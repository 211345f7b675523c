"""Resume after a kill or a damaged checkpoint: metrics rows logged past the checkpoint are
dropped, and an unreadable newest checkpoint falls back to the one before it."""

import json

import numpy as np
import pytest
import torch

from ucgen.data import ImageDataset
from ucgen.errors import CheckpointError
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.training.loop import LoopSettings, train_stage

from .toy_stage import ToyStage

CPU = torch.device("cpu")
SETTINGS = LoopSettings(seed=3, log_every=2, sample_every=5, checkpoint_every=3, progress=False)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return ImageDataset(rng.integers(0, 256, (40, 4, 4, 1), dtype=np.uint8), None, "toy")


def straight(tmp_path, data):
    """A 10-step run trained without interruption: (stage, its metrics rows)."""
    run = Run.create("straight", load_config("tiny"), tmp_path)
    stage = ToyStage(data.shape, total_steps=10)
    train_stage(stage, data, run, SETTINGS, CPU)
    return stage, run.read_metrics()


def first_six(tmp_path, data):
    """A run whose process stopped after the step-6 checkpoint (checkpoints 3 and 6 kept)."""
    run = Run.create("killed", load_config("tiny"), tmp_path)
    train_stage(ToyStage(data.shape, total_steps=6), data, run, SETTINGS, CPU)
    return run


def resume(run, data):
    torch.manual_seed(999)  # a fresh process would have another RNG state
    stage = ToyStage(data.shape, total_steps=10)
    assert train_stage(stage, data, run, SETTINGS, CPU) == 10
    return stage


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "time"} for row in rows]


def test_rows_logged_after_the_last_checkpoint_are_dropped_on_resume(tmp_path, data):
    _, expected = straight(tmp_path, data)
    run = first_six(tmp_path, data)
    with run.metrics_path.open("a") as f:  # what a process killed at step 8 had logged
        f.write(json.dumps({"stage": "toy", "step": 8, "loss": 1.0}) + "\n")
        f.write('{"stage": "toy", "st')  # and a line cut by the kill
    resume(run, data)
    assert without_time(run.read_metrics()) == without_time(expected)


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(tmp_path, data, capsys):
    reference, _ = straight(tmp_path, data)
    run = first_six(tmp_path, data)
    state = run.checkpoints / "toy" / "step-0000006" / "state.pt"
    state.write_bytes(state.read_bytes()[:100])  # cut short
    capsys.readouterr()
    resumed = resume(run, data)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ucgen: warning: "), err
    assert "step-0000006" in err[0] and "from the checkpoint before it" in err[0]
    for a, b in zip(reference.net.parameters(), resumed.net.parameters(), strict=True):
        assert torch.equal(a, b)


def test_no_readable_checkpoint_is_an_error_naming_the_stage(tmp_path, data):
    run = first_six(tmp_path, data)
    for state in (run.checkpoints / "toy").glob("step-*/state.pt"):
        state.write_bytes(b"")
    with pytest.raises(CheckpointError, match="no checkpoint of stage 'toy' .* can be read"):
        resume(run, data)
