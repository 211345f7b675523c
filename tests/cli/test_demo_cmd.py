"""`ucgen demo`: the README's main command, end to end on the tiny preset."""

import json

from ucgen.cli.main import main


def test_demo_trains_draws_evaluates_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UCGEN_CACHE", str(tmp_path / "cache"))
    args = [
        "demo",
        "--preset",
        "tiny",
        "--runs-dir",
        str(tmp_path),
        "--no-progress",
        "--set",
        "cofi.steps=4",
        "--set",
        "diffusion.steps=4",
        "--set",
        "data.limit=64",
        "--set",
        "eval.num_samples=16",
        "--set",
        "sample.steps=2",
    ]
    assert main(args) == 0
    run = tmp_path / "demo"
    out = capsys.readouterr().out
    assert "Where to look" in out and str(run / "report" / "index.html") in out
    pictures = {p.name for p in (run / "samples").glob("*.png")}
    assert {"codes.png", "traverse-c0.png", "flip-c0-b0.png", "flip-c0-b1.png"} <= pictures
    report = json.loads((run / "eval.json").read_text())
    assert report["samples"]["images"] == 16
    assert 0.0 <= report["bit_recovery"] <= 1.0
    assert "clustering" in report and "fine_control" in report
    page = (run / "report" / "index.html").read_text()
    assert 'alt="codes"' in page and "generation.fd" in page  # embedded, and every metric
    assert 'alt="generated images of code 0"' in page and '<section id="fine">' in page
