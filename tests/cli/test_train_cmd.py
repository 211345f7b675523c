"""`ucgen train`: dry run, resume, and bad input, as a user would type them."""

import hashlib
import json
import shutil

import pytest

from tests.cli.tiny_runs import FAST, error_line, train_tiny
from ucgen.cli.main import main
from ucgen.errors import TrainingError


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("runs"), "cofi")


def weights(folder):
    """Checksums of every weight and training-state file of a run."""
    files = [*folder.rglob("*.safetensors"), *folder.rglob("*.pt")]
    assert files
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_dry_run_prints_the_resolved_config(tmp_path, capsys):
    argv = ["train", "--preset", "tiny", "--data", "digits"]
    argv += ["--set", "cofi.bits=3", "--set", "sample.guidance=2.5", "--dry-run"]
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["train"]["method"] == "cofi"
    assert config["data"]["source"] == "digits"
    assert config["cofi"]["bits"] == 3 and config["cofi"]["fine_dim"] == 4  # preset kept
    assert config["sample"]["guidance"] == 2.5
    assert not list(tmp_path.iterdir())  # a dry run makes no run folder


def test_each_method_has_only_its_own_section(tmp_path, capsys):
    """The tiny preset holds a [cofi] recipe; a baseline's config has no such section, and an
    option of a method that is not selected is refused, naming the key."""
    argv = ["train", "--preset", "tiny", "--method", "labels", "--dry-run"]
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 0
    assert "cofi" not in json.loads(capsys.readouterr().out)
    assert main([*argv, "--set", "cofi.bits=3", "--runs-dir", str(tmp_path)]) == 2
    line = error_line(capsys)
    assert "cofi.bits" in line and "train.method is labels" in line


def test_a_run_describes_itself(run):
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["method"] == "cofi" and config["cofi"]["steps"] == 4
    assert (run / "metrics.jsonl").read_text().strip()
    assert list((run / "samples").glob("*.png"))


def test_resume_of_a_finished_run_changes_no_weights(run, capsys):
    before = weights(run)
    steps = len((run / "metrics.jsonl").read_text().splitlines())
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert f"done: {run}" in capsys.readouterr().out
    assert weights(run) == before
    assert len((run / "metrics.jsonl").read_text().splitlines()) == steps  # nothing trained


def test_a_run_with_the_coarse_teacher_trains_it_first_and_resumes_unchanged(tmp_path):
    run = train_tiny(tmp_path, "cofi", "--set", "cofi.teacher_steps=3", name="taught")
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logs if row["stage"] == "autoencoder"][-1] == 3
    assert all("teacher" in row for row in logs if row["stage"] == "stage1")
    assert (run / "checkpoints" / "teacher" / "model.safetensors").is_file()
    before = weights(run)
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert weights(run) == before


@pytest.mark.parametrize(
    "option", [["--preset", "tiny"], ["--method", "uncond"], ["--data", "digits"]]
)
def test_resume_refuses_options_it_would_ignore(run, capsys, option):
    assert main(["train", "--resume", str(run), *option, "--dry-run"]) == 2
    assert f"{option[0]} cannot be combined with it" in error_line(capsys)


def test_resume_with_other_data_keeps_the_fitted_parts(run):
    """The fine basis the HM-UNet was trained with stays, whatever the resumed data."""
    before = weights(run)
    config = (run / "config.json").read_bytes()
    assert main(["train", "--resume", str(run), "--set", "data.limit=40", "--no-progress"]) == 0
    assert weights(run) == before
    assert (run / "config.json").read_bytes() == config  # nothing was trained with it


def test_resume_dry_run_applies_overrides_on_the_saved_config(run, capsys):
    assert main(["train", "--resume", str(run), "--set", "sample.steps=9", "--dry-run"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["sample"]["steps"] == 9 and config["cofi"]["steps"] == 4
    assert json.loads((run / "config.json").read_text())["sample"]["steps"] == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--set", "cofi.bits=abc"], "cofi.bits: must be an integer, got 'abc'"),
        (["--set", "cofi.bits=40"], "cofi.bits: must be in [1, 12], got 40"),
        (["--set", "cofi.nope=1"], "unknown config key 'cofi.nope'"),
        (["--set", "bits"], "must look like section.key=value"),
        (["--method", "gan"], "train.method: unknown method 'gan': known methods are cofi, labels"),
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--config", "{missing}"], "config file not found"),
        (["--data", "{missing}"], "no such file or folder"),
        (["--data", "nodata"], "unknown data set 'nodata'"),
        (["--resume", "{tmp}"], "is not a ucgen run folder (no config.json)"),
        (["--resume", "{missing}"], "run folder not found"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, capsys, argv, message):
    argv = [a.format(missing=tmp_path / "missing", tmp=tmp_path) for a in argv]
    runs = tmp_path / "runs"
    preset = [] if "--resume" in argv else ["--preset", "tiny"]
    assert main(["train", *preset, "--runs-dir", str(runs), "--no-progress", *argv]) == 2
    assert message in error_line(capsys)
    assert not runs.exists() or not list(runs.iterdir())  # no run folder left behind


def fail_before_training(monkeypatch):
    """Make training fail as a stage is built, before any step (as bad data or a method
    that cannot be built would)."""

    def refuse(name):
        raise TrainingError("cannot build the method")

    monkeypatch.setattr("ucgen.app.driver.get_method", refuse)


def test_a_new_run_that_fails_before_training_leaves_no_folder(tmp_path, capsys, monkeypatch):
    fail_before_training(monkeypatch)
    argv = ["train", "--preset", "tiny", "--name", "x", "--runs-dir", str(tmp_path), *FAST]
    assert main([*argv, "--no-progress"]) == 2
    assert "cannot build the method" in error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_a_failed_resume_keeps_the_run_config(run, tmp_path, capsys, monkeypatch):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = (copy / "config.json").read_bytes()
    fail_before_training(monkeypatch)
    argv = ["train", "--resume", str(copy), "--set", "diffusion.steps=8", "--no-progress"]
    assert main(argv) == 2
    assert "cannot build the method" in error_line(capsys)
    assert (copy / "config.json").read_bytes() == config


def test_a_resume_that_trains_saves_the_changed_config(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    argv = ["train", "--resume", str(copy), "--set", "diffusion.steps=6", "--no-progress"]
    assert main(argv) == 0
    assert json.loads((copy / "config.json").read_text())["diffusion"]["steps"] == 6
    steps = [row["step"] for row in map(json.loads, (copy / "metrics.jsonl").open())]
    assert steps[-1] == 6
