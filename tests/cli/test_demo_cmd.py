"""`ucgen demo`: the README's main command, end to end on the tiny preset."""

import json

from ucgen.cli.main import main


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
    assert main([*demo_args(tmp_path), "--method", "rcg"]) == 0
    run = tmp_path / "demo"
    pictures = {p.name for p in (run / "samples").glob("*.png")}
    assert {"codes.png", "vary.png", "interpolate.png"} <= pictures
    assert not any(name.startswith(("traverse-", "flip-")) for name in pictures)
    report = json.loads((run / "eval.json").read_text())
    assert report["run"]["method"] == "rcg" and "condition_fd" in report
    page = (run / "report" / "index.html").read_text()
    assert 'class="strip interpolation"' in page and 'class="strip variation"' in page
