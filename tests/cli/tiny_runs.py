"""Helpers of the CLI tests: tiny runs trained through `ucgen train`, as a user would."""

from pathlib import Path

import pytest

from ucgen.cli.main import main

# The tiny preset with fewer steps: enough for every file a run writes, a few seconds each.
FAST = [
    "--set",
    "diffusion.steps=4",
    "--set",
    "train.checkpoint_every=4",
    "--set",
    "train.sample_every=4",
    "--set",
    "train.log_every=2",
    "--set",
    "data.limit=64",
]


# Methods with semantic stages of their own, whose length their section's `steps` sets.
METHOD_STEPS = ("cofi",)


def train_tiny(runs_dir: Path, method: str, *extra: str, name: str | None = None) -> Path:
    """Train a tiny `method` run on shapes (16x16 RGB) through the CLI, with `extra`
    arguments; its folder (`name`, default the method's)."""
    name = name or method
    argv = ["train", "--preset", "tiny", "--method", method, "--name", name]
    own = ["--set", f"{method}.steps=4"] if method in METHOD_STEPS else []
    assert main([*argv, "--runs-dir", str(runs_dir), "--no-progress", *FAST, *own, *extra]) == 0
    return runs_dir / name


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The one `ucgen: error: ...` line a failed command printed."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ucgen: error: "), err
    return err[0]
