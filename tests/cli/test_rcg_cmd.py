"""`ucgen train --method rcg` on the tiny preset, then sample, vary and interpolate."""

from __future__ import annotations

from ucgen.cli.main import main

from .tiny_runs import error_line, train_tiny


def test_rcg_trains_samples_varies_and_interpolates(tmp_path, capsys) -> None:
    run = train_tiny(tmp_path, "rcg")
    for stage in ("rep-encoder", "rdm", "diffusion"):
        assert (run / "checkpoints" / stage).is_dir()
    assert (
        main(
            [
                "sample",
                str(run),
                "--n",
                "8",
                "--guidance",
                "2",
                "--set",
                "sample.guidance_schedule=linear",
            ]
        )
        == 0
    )
    grid = run / "samples" / "sample.png"
    assert grid.is_file()
    assert main(["vary", str(run), "--image", str(grid), "--n", "3"]) == 0
    assert (run / "samples" / "vary-sample.png").is_file()
    argv = ["interpolate", str(run), "--image", str(grid), "--image", str(grid), "--length", "4"]
    assert main(argv) == 0
    assert (run / "samples" / "interpolate-sample-sample.png").is_file()
    capsys.readouterr()
    assert main(argv[:-4]) == 2
    assert "exactly two --image" in error_line(capsys)


def test_interpolate_needs_continuous_conditions(tmp_path, capsys) -> None:
    run = train_tiny(tmp_path, "labels")
    png = next((run / "samples").glob("*.png"))
    assert main(["interpolate", str(run), "--image", str(png), "--image", str(png)]) == 2
    assert "not continuous" in error_line(capsys)
