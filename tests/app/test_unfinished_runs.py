"""Using a run whose training stopped early: a one-line message that says it is unfinished and
how to resume it, and the generators that did finish still work."""

import json
import shutil

import pytest

from tests.cli.tiny_runs import error_line, train_tiny
from ucgen.app.trained import TrainedModel
from ucgen.cli.main import main
from ucgen.errors import CheckpointError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("runs"), "cofi")


def stopped(trained, tmp_path, **steps):
    """A copy of the run as if training had stopped early: its config asks for more steps of
    the sections in `steps` than its checkpoints hold."""
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    config = json.loads((run / "config.json").read_text())
    for section, value in steps.items():
        config[section]["steps"] = value
    (run / "config.json").write_text(json.dumps(config))
    return run


def test_a_run_stopped_in_its_pixel_generator_says_so_and_keeps_stage1(trained, tmp_path, capsys):
    run = stopped(trained, tmp_path, diffusion=8)
    argv = ["sample", str(run), "--n", "2", "--steps", "2", "--png", str(tmp_path / "a.png")]
    assert main(argv) == 2
    message = error_line(capsys)
    assert "unfinished" in message and "step 4 of 8" in message
    assert f"ucgen train --resume {run}" in message and "stage1" in message
    model = TrainedModel.load(run, device="cpu", generator="stage1")
    images, _ = model.sample(2)
    assert images.shape == (2, 16, 16, 3)


def test_a_run_stopped_in_stage1_says_it_is_unfinished(trained, tmp_path):
    run = stopped(trained, tmp_path, cofi=8, diffusion=8)
    shutil.rmtree(run / "checkpoints" / "diffusion")
    shutil.rmtree(run / "checkpoints" / "cofi-parts")
    for generator in ("diffusion", "stage1"):
        with pytest.raises(CheckpointError) as err:
            TrainedModel.load(run, device="cpu", generator=generator)
        assert "unfinished run" in str(err.value) and "before its pixel generator" in str(err.value)
        assert f"ucgen train --resume {run}" in str(err.value)
