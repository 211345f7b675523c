"""Distillation through the CLI: guidance then step distillation added to a finished run by
resuming it, each then the run's default generator (its scales by the student, others by the
generator it was distilled from), and what it was distilled from kept as it was."""

from __future__ import annotations

import json

import numpy as np

from ucgen.app.trained import TrainedModel
from ucgen.cli.main import main
from ucgen.serve.explorer import Explorer

from .tiny_runs import error_line, train_tiny


def test_distillation_joins_a_finished_run_and_samples_at_its_scales(tmp_path, capsys) -> None:
    run = train_tiny(tmp_path, "labels")
    unet = (run / "checkpoints" / "diffusion").iterdir()
    before = {p.name: p.stat().st_mtime_ns for p in unet}
    resume = ["train", "--resume", str(run), "--no-progress"]
    distill = ["--set", "diffusion.distill_steps=4", "--set", "sample.guidance=2"]
    assert main([*resume, *distill]) == 0
    assert {
        p.name: p.stat().st_mtime_ns for p in (run / "checkpoints" / "diffusion").iterdir()
    } == before
    stages = {
        json.loads(line).get("stage") for line in (run / "metrics.jsonl").read_text().splitlines()
    }
    assert "distill" in stages

    sample = ["sample", str(run), "--n", "4", "--steps", "2", "--out", str(tmp_path / "a.npz")]
    assert main(sample) == 0
    assert main([*sample[:-1], str(tmp_path / "b.npz"), "--generator", "distilled"]) == 0
    assert main([*sample[:-1], str(tmp_path / "c.npz"), "--generator", "diffusion"]) == 0
    a, b, c = (np.load(tmp_path / f"{x}.npz")["images"] for x in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)  # the student by default
    capsys.readouterr()
    assert main([*sample[:-1], str(tmp_path / "d.npz"), "--guidance", "3"]) == 0
    assert "the distilled student serves guidance 2 (fine 1) only; diffusion draws" in (
        capsys.readouterr().out
    )
    assert (
        main([*sample[:-1], str(tmp_path / "e.npz"), "--guidance", "3", "--generator", "diffusion"])
        == 0
    )
    d, e = (np.load(tmp_path / f"{x}.npz")["images"] for x in "de")
    assert np.array_equal(d, e)  # other scales: the UNet it was distilled from
    assert main(["eval", str(run), "--n", "16"]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["run"]["generator"] == "distilled"

    capsys.readouterr()
    assert main([*resume, "--set", "diffusion.steps=8"]) == 2  # the student was built from it
    assert "later stages" in error_line(capsys)
    assert main([*resume, "--set", "sample.guidance=3"]) == 2  # what the student learned
    assert "distillation has started" in error_line(capsys)

    step = ["--set", "diffusion.step_distill_steps=4", "--set", "diffusion.step_distill_levels=2"]
    assert main([*resume, *step]) == 0
    assert main([*sample[:-1], str(tmp_path / "f.npz")]) == 0
    assert main([*sample[:-1], str(tmp_path / "g.npz"), "--generator", "fewstep"]) == 0
    assert main([*sample[:-1], str(tmp_path / "h.npz"), "--generator", "distilled"]) == 0
    f, g, h = (np.load(tmp_path / f"{x}.npz")["images"] for x in "fgh")
    assert np.array_equal(f, g) and not np.array_equal(f, h)  # the step student by default
    assert np.array_equal(h, b)  # the guidance student it was distilled from, as it was
    assert main([*sample[:-1], str(tmp_path / "i.npz"), "--guidance", "3"]) == 0
    assert np.array_equal(np.load(tmp_path / "i.npz")["images"], d)  # other scales: the UNet
    assert main(["eval", str(run), "--n", "16"]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["run"]["generator"] == report["run"]["drawn_by"] == "fewstep"
    assert (report["sampling"]["solver"], report["sampling"]["nfe"]) == ("euler", 2)

    explorer = Explorer(TrainedModel.load(run))
    served = explorer.render({"code": 0, "guidance": 2})
    assert served["drawn_by"] == {
        "generator": "fewstep",
        "solver": "euler",
        "steps": 2,
        "guidance": 1.0,
        "fell_back": False,
    }
    other = explorer.render({"code": 0, "guidance": 3, "steps": 3})["drawn_by"]
    assert other == {
        "generator": "diffusion",
        "solver": "heun",
        "steps": 3,
        "guidance": 3.0,
        "fell_back": True,
    }

    capsys.readouterr()
    assert main([*resume, "--set", "diffusion.distill_steps=8"]) == 2  # the teacher
    assert "later stages" in error_line(capsys)
    for key in ("diffusion.step_distill_levels=3", "sample.rho=5"):
        assert main([*resume, "--set", key]) == 2  # what the step student learned
        assert "step distillation has started" in error_line(capsys)
