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
from dataclasses import dataclass

import torch
from tqdm import tqdm

from ucgen.data import ImageDataset
from ucgen.errors import TrainingError
from ucgen.io.runs import Run
from ucgen.report.grid import save_grid
from ucgen.training import distributed as dist
from ucgen.training.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from ucgen.training.stage import TrainingStage


@dataclass
class LoopSettings:
    """How often the loop logs, previews and checkpoints, and how it seeds data order."""

    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    progress: bool = True


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

    With `resume`, continues from the newest complete checkpoint of this stage in `run`.
    A final checkpoint is always written, so a finished stage can be loaded for sampling.
    """
    folder = run.checkpoints / stage.name
    step = 0
    latest = latest_checkpoint(folder) if resume else None
    if latest is not None:
        step = load_checkpoint(stage, latest)
    if step >= stage.total_steps:
        return step
    if latest is None:
        torch.manual_seed(settings.seed + dist.rank())
    main = dist.is_main()

    images = data.tensors()  # (N, C, H, W) in [-1, 1], kept in memory
    labels = None if data.labels is None else torch.from_numpy(data.labels)
    bar = tqdm(
        total=stage.total_steps,
        initial=step,
        desc=stage.name,
        dynamic_ncols=True,
        disable=not settings.progress,
    )
    running: dict[str, float] = {}
    count = 0
    while step < stage.total_steps:
        index = batch_indices(step, len(images), stage.batch_size, settings.seed)
        index = dist.shard(index, stage.batch_size)
        x = images[index].to(device, non_blocking=True)
        y = None if labels is None else labels[index].to(device)
        losses = dist.mean_over_ranks(stage.train_step(x, y, step))
        step += 1
        for key, value in losses.items():
            if not math.isfinite(value):
                kept = latest_checkpoint(folder)
                raise TrainingError(
                    f"stage '{stage.name}' diverged: loss '{key}' became {value} at step "
                    f"{step}. Training stopped; the last good checkpoint is kept "
                    f"({kept or 'none yet'}). Resume with a lower learning rate, e.g. "
                    f"`ucgen train --resume {run.path} --set SECTION.lr=...`."
                )
            running[key] = running.get(key, 0.0) + value
        count += 1
        last = step == stage.total_steps
        if main and (step % settings.log_every == 0 or last):
            means = {k: v / count for k, v in running.items()}
            run.log({"stage": stage.name, "step": step, **means})
            bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)
            running, count = {}, 0
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
