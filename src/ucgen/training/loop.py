"""The one training loop, for every stage of every method (nanoGPT-style: read it top to bottom).

The loop owns what is common to all stages: data order, logging, previews, checkpoints,
resume and the divergence guard. What a step does is the stage's business.

Under `torchrun` every rank runs this same loop on its shard of each global batch; losses are
averaged over ranks and only rank 0 writes logs, pictures and checkpoints.

Data order is a pure function of (seed, step): batch `s` is slice `s % per_epoch` of the
permutation drawn for epoch `s // per_epoch`. Together with the RNG state saved in each
checkpoint this makes a resumed run continue exactly as an uninterrupted one would.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ucgen.data import ImageDataset
from ucgen.errors import TrainingError
from ucgen.io.runs import Run
from ucgen.report.grid import save_grid
from ucgen.runtime import distributed as dist
from ucgen.runtime.checkpoints import (
    latest_checkpoint,
    load_checkpoint,
    load_latest_readable,
    save_checkpoint,
)
from ucgen.runtime.speed import SpeedSettings, apply_speed, precision_scope
from ucgen.runtime.stage import TrainingStage


@dataclass
class LoopSettings:
    """How often the loop logs, previews and checkpoints, and how it seeds data order."""

    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    progress: bool = True
    on_divergence: str = "stop"  # or "rollback": back to the last checkpoint, lower lr
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3
    speed: SpeedSettings = field(default_factory=SpeedSettings)  # layout, compile, precision


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> torch.Tensor:
    """Indices of the images in batch `step` (each epoch a fresh seeded permutation)."""
    per_epoch = max(1, n // batch_size)
    epoch, offset = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    if n < batch_size:
        return perm
    return perm[offset * batch_size : (offset + 1) * batch_size]


def train_stage(
    stage: TrainingStage,
    data: ImageDataset,
    run: Run,
    settings: LoopSettings,
    device: torch.device,
    resume: bool = True,
) -> int:
    """Train `stage` for `stage.total_steps` steps on `data`; returns the last step done.

    With `resume`, continues from the newest complete checkpoint of this stage in `run` whose
    training state reads (an unreadable newer one is skipped with a warning on stderr), and
    drops the metrics rows a killed process logged after it. A final checkpoint is always
    written, so a finished stage can be loaded for sampling.
    """
    apply_speed(stage.networks(), settings.speed)  # before loading: it copies into the layout
    folder = run.checkpoints / stage.name
    main = dist.is_main()
    step, latest = 0, None
    if resume:
        warn = _warn if main else lambda message: None  # rank 0 warns for all
        step, latest = load_latest_readable(stage, folder, warn)
    if step >= stage.total_steps:
        return step
    if main:
        run.drop_metrics_after(stage.name, step)
    if latest is None:
        # The driver builds later stages after earlier ones drew rank-dependent noise.
        dist.broadcast_from_main(stage.state_dict())
        # A stream of its own per rank: not `seed` itself, which the driver used to build the
        # networks: replaying the initialisation's random numbers as training noise correlates
        # the two and gave worse codes (bench/stage1_results.md).
        stream = np.random.SeedSequence([settings.seed, dist.rank(), 2]).generate_state(1)
        torch.manual_seed(int(stream[0]))

    images = data.tensors()  # (N, C, H, W) in [-1, 1], kept in memory
    if hasattr(stage, "inputs"):
        with precision_scope(settings.speed.precision, device):
            images = stage.inputs(images)
    labels = None if data.labels is None else torch.from_numpy(data.labels)
    bar = tqdm(
        total=stage.total_steps,
        initial=step,
        desc=stage.name,
        dynamic_ncols=True,
        disable=not (settings.progress and main),
    )
    running: dict[str, float] = {}
    counts: dict[str, int] = {}  # a value some steps report (e.g. once) is averaged over those
    count = rollbacks = 0
    while step < stage.total_steps:
        index = batch_indices(step, len(images), stage.batch_size, settings.seed)
        index = dist.shard(index, stage.batch_size)
        x = images[index].to(device, non_blocking=True)
        y = None if labels is None else labels[index].to(device)
        with precision_scope(settings.speed.precision, device):
            losses = stage.train_step(x, y, step)
        losses = dist.mean_over_ranks(losses)
        step += 1
        problem = next(
            (
                f"loss '{k}' became {v} at step {step}"
                for k, v in losses.items()
                if not math.isfinite(v)
            ),
            None,
        )
        for key, value in losses.items():
            running[key] = running.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
        count += 1
        last = step == stage.total_steps
        if problem is None and (step % settings.log_every == 0 or last):
            means = {k: v / counts[k] for k, v in running.items()}
            if means.get("collapse", 0.0) >= 1.0:
                problem = f"training collapsed in every batch of steps {step - count + 1}-{step}"
            if main:
                run.log({"stage": stage.name, "step": step, **means})
                bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)
            running, counts, count = {}, {}, 0
        if problem is not None:
            kept = latest_checkpoint(folder)
            if settings.on_divergence == "rollback" and kept and rollbacks < settings.max_rollbacks:
                rollbacks += 1
                step = roll_back(stage, kept, settings.rollback_lr_factor)
                if main:
                    run.log(
                        {
                            "stage": stage.name,
                            "step": step,
                            "event": "rollback",
                            "reason": problem,
                            "lr_factor": settings.rollback_lr_factor,
                        }
                    )
                bar.n, running, counts, count = step, {}, {}, 0
                continue
            raise TrainingError(
                f"stage '{stage.name}': {problem}. Training stopped; the last good checkpoint "
                f"is kept ({kept or 'none yet'}). Resume it with a lower learning rate: "
                f"`ucgen train --resume {run.path} --set train.on_divergence=rollback`, or "
                "start a new run with a lower SECTION.lr."
            )
        if main and (step % settings.sample_every == 0 or last):
            preview = stage.preview(torch.Generator().manual_seed(settings.seed))
            save_grid(preview, run.samples / f"{stage.name}-step{step:07d}.png")
        if step % settings.checkpoint_every == 0 or last:
            if main:
                save_checkpoint(stage, folder, step)
            dist.barrier()
        bar.update(1)
    bar.close()
    if dist.world_size() > 1:
        check_ranks_agree(stage, run, step)
    return step


def _warn(message: str) -> None:
    print(f"ucgen: warning: {message}", file=sys.stderr)


def roll_back(stage: TrainingStage, checkpoint: Path, lr_factor: float) -> int:
    """Restore the last good checkpoint and lower every learning rate; returns its step."""
    step = load_checkpoint(stage, checkpoint)
    for optimizer in stage.optimizers():
        for group in optimizer.param_groups:
            group["lr"] *= lr_factor
    return step


def check_ranks_agree(stage: TrainingStage, run: Run, step: int) -> None:
    """Every rank must end a stage with the same weights; a mismatch means lost updates."""
    sums = dist.rank_checksums(stage.state_dict())
    if dist.is_main():
        run.log({"stage": stage.name, "step": step, "rank_checksums": sums})
    if len(set(sums)) > 1:
        raise TrainingError(
            f"stage '{stage.name}': the {len(sums)} processes ended with "
            f"different weights (checksums {', '.join(sums)})"
        )
