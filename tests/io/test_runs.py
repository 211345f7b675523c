import pytest

from ucgen.errors import CheckpointError, UcgenError
from ucgen.io.runs import Run, run_name_from
from ucgen.methods import load_config, load_saved_config


def test_runs_never_overwrite(tmp_path):
    config = load_config("tiny")
    a = Run.create("demo", config, tmp_path)
    b = Run.create("demo", config, tmp_path)
    assert a.path.name == "demo" and b.path.name == "demo-2"
    assert load_saved_config(Run.open(b.path).config_path) == config


def test_metrics_lines_survive_a_cut_line(tmp_path):
    run = Run.create("m", load_config("tiny"), tmp_path)
    run.log({"step": 1, "loss": 0.5})
    with run.metrics_path.open("a") as f:
        f.write('{"step": 2, "lo')
    assert [r["step"] for r in run.read_metrics()] == [1]


def test_open_rejects_non_run(tmp_path):
    with pytest.raises(CheckpointError, match="not a ucgen run folder"):
        Run.open(tmp_path)


@pytest.mark.parametrize("name", ["a/b", "../escape", "..", ".hidden", "", "sp ace", "x" * 129])
def test_a_run_name_is_one_plain_path_component(tmp_path, name):
    with pytest.raises(UcgenError, match="run name .* is not allowed"):
        Run.create(name, load_config("tiny"), tmp_path / "runs")
    assert not list(tmp_path.iterdir())


def test_a_default_name_is_made_valid():
    assert run_name_from("My Photos (2024)") == "My-Photos-2024"
    assert run_name_from("../..") == "run"


def test_runs_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    for root in (tmp_path / "f", tmp_path / "f" / "deeper"):
        with pytest.raises(UcgenError, match="is a file, not a folder"):
            Run.create("r", load_config("tiny"), root)


def test_open_says_a_file_is_not_a_run_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(CheckpointError, match="is a file, not a run folder"):
        Run.open(tmp_path / "notes.txt")
