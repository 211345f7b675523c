"""Guidance distillation through the CLI: added to a finished run by resuming it, sampled and
evaluated as the "distilled" generator at its scales, and the UNet it was distilled from kept."""

from __future__ import annotations

import json

from ucgen.cli.main import main

from .tiny_runs import error_line, train_tiny


def test_distillation_joins_a_finished_run_and_samples_at_its_scales(tmp_path, capsys) -> None:
    run = train_tiny(tmp_path, "labels")
    unet = (run / "checkpoints" / "diffusion").iterdir()
    before = {p.name: p.stat().st_mtime_ns for p in unet}
    resume = ["train", "--resume", str(run), "--no-progress"]
    assert main([*resume, "--set", "diffusion.distill_steps=4"]) == 0
    assert {
        p.name: p.stat().st_mtime_ns for p in (run / "checkpoints" / "diffusion").iterdir()
    } == before
    stages = {
        json.loads(line).get("stage") for line in (run / "metrics.jsonl").read_text().splitlines()
    }
    assert "distill" in stages

    assert main(["sample", str(run), "--generator", "distilled", "--n", "4", "--steps", "2"]) == 0
    assert (run / "samples" / "distilled-sample.png").is_file()
    out = tmp_path / "eval.json"
    argv = ["eval", str(run), "--generator", "distilled", "--n", "16", "--out", str(out)]
    assert main(argv) == 0
    sampling = json.loads(out.read_text())["sampling"]
    assert (sampling["guidance"], sampling["guidance_fine"]) == (2.0, 2.0)

    capsys.readouterr()
    assert main([*resume, "--set", "diffusion.steps=8"]) == 2  # the student was built from it
    assert "later stages" in error_line(capsys)
