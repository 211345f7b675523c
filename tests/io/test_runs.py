import pytest

from ucgen.config import load_config
from ucgen.errors import CheckpointError
from ucgen.io.runs import Run


def test_runs_never_overwrite(tmp_path):
    config = load_config("tiny")
    a = Run.create("demo", config, tmp_path)
    b = Run.create("demo", config, tmp_path)
    assert a.path.name == "demo" and b.path.name == "demo-2"
    assert Run.open(b.path).config() == config


def test_metrics_lines_survive_a_cut_line(tmp_path):
    run = Run.create("m", load_config("tiny"), tmp_path)
    run.log({"step": 1, "loss": 0.5})
    with run.metrics_path.open("a") as f:
        f.write('{"step": 2, "lo')
    assert [r["step"] for r in run.read_metrics()] == [1]


def test_open_rejects_non_run(tmp_path):
    with pytest.raises(CheckpointError, match="not a ucgen run folder"):
        Run.open(tmp_path)
