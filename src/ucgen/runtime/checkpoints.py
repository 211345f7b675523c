"""Training checkpoints that survive a kill at any moment.

A checkpoint is a folder `checkpoints/STAGE/step-NNNNNNN/` holding `state.pt` (everything to
resume: weights, EMA, optimisers, step, RNG) and the stage's inference components. It is written
under a temporary name and renamed when complete, so a folder named `step-*` is always whole.
The newest complete checkpoint wins; older ones are removed only after a newer one is complete,
so when the newest one's training state cannot be read (a damaged disk, a copy cut short) a
resume falls back to the one before it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ucgen.errors import CheckpointError, UcgenError
from ucgen.io.checkpoint import load_state, save_state
from ucgen.runtime.stage import TrainingStage

STEP_DIR = re.compile(r"^step-(\d{7})$")
KEEP = 2  # complete checkpoints kept per stage


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(stage: TrainingStage, folder: Path, step: int) -> Path:
    """Write stage state + components for `step` under folder/step-NNNNNNN, atomically."""
    final = folder / f"step-{step:07d}"
    tmp = folder / f".step-{step:07d}.tmp-{os.getpid()}"
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        save_state(
            {"step": step, "stage": stage.state_dict(), "rng": rng_state()}, tmp / "state.pt"
        )
        stage.save(tmp / "components")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UcgenError(f"cannot write checkpoint {final}: {err.strerror or err}") from None
    for old in complete_checkpoints(folder)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".step-*.tmp-*"):
        if stale != tmp:
            shutil.rmtree(stale, ignore_errors=True)
    return final


def complete_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint folders, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and STEP_DIR.match(p.name)]
    return sorted(found, key=lambda p: p.name)


def checkpoint_step(path: Path) -> int:
    """The step a complete checkpoint folder was taken at, from its name."""
    match = STEP_DIR.match(path.name)
    if match is None:
        raise CheckpointError(f"{path} is not a checkpoint folder (step-NNNNNNN)")
    return int(match.group(1))


def latest_checkpoint(folder: Path) -> Path | None:
    found = complete_checkpoints(folder)
    return found[-1] if found else None


def load_checkpoint(stage: TrainingStage, path: Path) -> int:
    """Restore a stage and the RNG from a checkpoint folder; returns the step it was taken at."""
    return _restore(stage, load_state(path / "state.pt"), path)


def _restore(stage: TrainingStage, state: dict[str, Any], path: Path) -> int:
    try:
        stage.load_state_dict(state["stage"])
        set_rng_state(state["rng"])
        return int(state["step"])
    except (KeyError, RuntimeError, ValueError) as err:
        detail = " ".join(str(err).split())  # torch's messages span lines
        raise CheckpointError(f"{path} does not match this training stage: {detail}") from None


def load_latest_readable(
    stage: TrainingStage, folder: Path, warn: Callable[[str], None]
) -> tuple[int, Path | None]:
    """Restore `stage` from its newest complete checkpoint in `folder` whose training state
    can be read, calling `warn` once for each newer one skipped; returns (step, checkpoint),
    (0, None) where there is none. A checkpoint that reads but does not fit the stage is an
    error, not skipped: an older one would not fit either."""
    found = complete_checkpoints(folder)
    for path in reversed(found):
        try:
            state = load_state(path / "state.pt")
        except CheckpointError as err:
            if path == found[0]:
                raise CheckpointError(
                    f"no checkpoint of stage '{stage.name}' in {folder} can be read: {err}"
                ) from None
            warn(f"{err}; resuming stage '{stage.name}' from the checkpoint before it")
            continue
        return _restore(stage, state, path), path
    return 0, None


def final_components(run_checkpoints: Path, stage_name: str) -> Path:
    """The inference components of a stage's last checkpoint (what sampling loads)."""
    latest = latest_checkpoint(run_checkpoints / stage_name)
    if latest is None:
        raise CheckpointError(
            f"no complete checkpoint for stage '{stage_name}' in "
            f"{run_checkpoints}: was this stage trained?"
        )
    return latest / "components"
