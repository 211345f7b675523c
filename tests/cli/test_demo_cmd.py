"""`ucgen demo`: the README's main command, end to end on the tiny preset."""

import json

import numpy as np
import torch

from ucgen.app import run_eval, trained
from ucgen.app.trained import TrainedModel
from ucgen.cli.main import main
from ucgen.data import load_dataset


def demo_args(tmp_path) -> list[str]:
    return [
        "demo",
        "--preset",
        "tiny",
        "--runs-dir",
        str(tmp_path),
        "--no-progress",
        "--set",
        "diffusion.steps=4",
        "--set",
        "data.limit=64",
        "--set",
        "eval.num_samples=16",
        "--set",
        "sample.steps=2",
    ]


def test_demo_trains_draws_evaluates_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UCGEN_CACHE", str(tmp_path / "cache"))
    assert main([*demo_args(tmp_path), "--set", "cofi.steps=4"]) == 0
    run = tmp_path / "demo"
    out = capsys.readouterr().out
    assert "Where to look" in out and str(run / "report" / "index.html") in out
    pictures = {p.name for p in (run / "samples").glob("*.png")}
    assert {"codes.png", "vary.png"} <= pictures
    assert any(name.startswith("traverse-c") for name in pictures)
    assert sum(name.startswith("flip-c") for name in pictures) == 2  # one per bit
    report = json.loads((run / "eval.json").read_text())
    assert report["samples"]["images"] == 16
    assert 0.0 <= report["bit_recovery"] <= 1.0
    assert "clustering" in report and "fine_control" in report
    page = (run / "report" / "index.html").read_text()
    assert 'alt="codes"' in page and "generation.fd" in page  # embedded, and every metric
    assert 'alt="generated images of code 0"' in page and '<section id="fine">' in page
    assert '<section id="variations">' in page and "test image" in page


def test_demo_of_rcg_shows_variations_and_interpolations(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UCGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(run_eval, "TRAIN_IMAGES", 40)  # of the 64 training images
    assert main([*demo_args(tmp_path), "--method", "rcg"]) == 0
    run = tmp_path / "demo"
    pictures = {p.name for p in (run / "samples").glob("*.png")}
    assert {"codes.png", "vary.png", "interpolate.png"} <= pictures
    assert not any(name.startswith(("traverse-", "flip-")) for name in pictures)
    report = json.loads((run / "eval.json").read_text())
    assert report["run"]["method"] == "rcg" and report["condition_fd"]["train"] == 40
    assert report["representation"]["train"] == 64  # the probe fits on the whole split

    model = TrainedModel.load(run)
    images = load_dataset("shapes", "test", 16).images[:50]
    whole = model.encode(images)
    monkeypatch.setattr(trained, "ENCODE_BATCH", 7)
    batched = model.encode(images)
    assert len(batched.coarse) == 50 and torch.equal(batched.code, whole.code)
    # Representations have unit scale; float32 convolutions over other batch sizes differ
    # in the last bits of each sum, far below a row out of place.
    assert np.allclose(batched.coarse.numpy(), whole.coarse.numpy(), atol=1e-4)
    page = (run / "report" / "index.html").read_text()
    assert 'class="strip interpolation"' in page and 'class="strip variation"' in page
