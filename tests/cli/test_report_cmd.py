"""`ucgen report RUN` on damaged or odd run folders: a clear error and no file written, or a
report that leaves out what cannot be shown."""

import json
import os

import numpy as np
import pytest

from tests.cli.tiny_runs import error_line
from ucgen.cli.main import main
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.report.grid import save_grid


@pytest.fixture
def run(tmp_path) -> Run:
    run = Run.create("r", load_config("tiny"), tmp_path)
    for step in range(1, 4):
        run.log({"stage": "stage1", "step": step, "loss_d": 1.0 / step})
    return run


def _files(run: Run) -> dict[str, bytes]:
    return {
        str(p.relative_to(run.path)): p.read_bytes() for p in run.path.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"fd": 1', "is not valid JSON"),
        ("[1, 2]", "does not hold an evaluation report"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
    ids=["cut", "not-an-object", "not-text"],
)
def test_corrupt_eval_json_is_one_error_naming_it(run, capsys, content, words):
    path = run.path / "eval.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = _files(run)
    assert main(["report", str(run.path)]) == 2
    line = error_line(capsys)
    assert words in line and "eval.json" in line and f"ucgen eval {run.path}" in line
    assert _files(run) == before and not run.report.exists()


def test_report_folder_that_is_a_file_is_refused(run, capsys):
    run.report.write_text("mine")
    assert main(["report", str(run.path)]) == 2
    assert "is not a folder" in error_line(capsys)
    assert run.report.read_text() == "mine"


def test_index_that_is_a_folder_is_refused_before_any_curve(run, capsys):
    (run.report / "index.html").mkdir(parents=True)
    assert main(["report", str(run.path)]) == 2
    assert "index.html: it exists and is a folder" in error_line(capsys)
    assert [p.name for p in run.report.iterdir()] == ["index.html"]


def test_unwritable_report_folder_is_refused_before_any_curve(run, capsys, monkeypatch):
    run.report.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: os.fspath(p) != str(run.report.resolve()))
    assert main(["report", str(run.path)]) == 2
    monkeypatch.setattr(os, "access", real_access)
    assert "permission denied" in error_line(capsys)
    assert list(run.report.iterdir()) == []


def test_garbage_metrics_lines_are_left_out(run, capsys):
    with run.metrics_path.open("a") as f:
        for line in [
            "garbage",
            "[1, 2]",
            "7",
            '"stage step"',
            '{"stage": ["a"], "step": 1}',
            '{"stage": "s2", "step": "one", "loss": 1}',
            '{"stage": "s2", "step": true, "loss": 1}',
            '{"stage": "stage1", "step": 4, "loss_d": NaN, "loss_g": Infinity}',
            '{"stage": "../../escape", "step": 1, "loss": 1.0}',
            '{"stage": "a/b", "step": 1, "loss": 1.0}',
            '{"stage": "a b", "step": 1, "loss": 2.0}',
        ]:
            f.write(line + "\n")
    assert main(["report", str(run.path)]) == 0
    names = sorted(p.name for p in run.report.iterdir())
    assert names == [
        "index.html",
        "losses-.._.._escape.png",
        "losses-a_b-2.png",
        "losses-a_b.png",
        "losses-stage1.png",
    ]
    assert sorted(p.name for p in run.path.parent.iterdir()) == ["r"]
    assert "report written" in capsys.readouterr().out


def test_jpeg_pictures_are_embedded_and_odd_names_escaped(run):
    save_grid(np.zeros((1, 8, 8, 3), np.uint8), run.samples / "a.jpg")
    save_grid(np.zeros((1, 8, 8, 3), np.uint8), run.samples / 'q"<x> #1.png')
    (run.path / "eval.json").write_text(json.dumps({"fd": 1.5}))
    assert main(["report", str(run.path)]) == 0
    page = (run.report / "index.html").read_text()
    assert 'src="data:image/jpeg;base64,' in page and 'alt="a"' in page
    assert 'alt="q&#34;&lt;x&gt; #1"' in page and "<x>" not in page


def test_config_that_is_not_text_is_one_error(run, capsys):
    run.config_path.write_bytes(b"\xff\xfe")
    assert main(["report", str(run.path)]) == 2
    assert "config.json: it is not UTF-8 text" in error_line(capsys)
    assert not run.report.exists()


def test_report_of_the_current_folder_names_the_run(run, monkeypatch):
    monkeypatch.chdir(run.path)
    assert main(["report", "."]) == 0
    assert "<h1>ucgen run <code>r</code></h1>" in (run.report / "index.html").read_text()
