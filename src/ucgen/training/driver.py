"""Train a whole method into a run folder: its semantic stages, then the pixel generator.

This is what `ucgen train` runs. It knows methods only through the `Method` interface.
"""

from __future__ import annotations

import torch

from ucgen.config import Config
from ucgen.data import ImageDataset, load_dataset
from ucgen.io.runs import Run
from ucgen.methods import get_method
from ucgen.training import distributed as dist
from ucgen.training.diffusion_stage import DiffusionStage, unet_config
from ucgen.training.loop import LoopSettings, train_stage
from ucgen.training.speed import SpeedSettings, set_threads


def load_training_data(config: Config, split: str = "train") -> ImageDataset:
    """The configured data set (first `data.limit` images when a limit is set)."""
    data = load_dataset(
        config.data.source, split=split, resolution=config.data.resolution, root=config.data.root
    )
    if config.data.limit is not None and split == "train":
        data = data.subset(slice(0, config.data.limit))
    return data


def train_run(
    config: Config, run: Run, progress: bool = True, data: ImageDataset | None = None
) -> None:
    """Train (or resume) every stage of `config.train.method` in `run`, on `data` when given
    (it must be `load_training_data(config)`), else on the configured data loaded here.

    Stages already finished in the run are loaded, not retrained, so the same call resumes a
    killed run from its last complete checkpoint.
    """
    device = dist.local_device(config.train.device)
    dist.init_from_env(device)
    set_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    if data is None:
        data = load_training_data(config)
    method = get_method(config.train.method)
    settings = LoopSettings(
        seed=config.train.seed,
        log_every=config.train.log_every,
        sample_every=config.train.sample_every,
        checkpoint_every=config.train.checkpoint_every,
        progress=progress,
        on_divergence=config.train.on_divergence,
        rollback_lr_factor=config.train.rollback_lr_factor,
        max_rollbacks=config.train.max_rollbacks,
        speed=SpeedSettings(
            config.train.channels_last, config.train.compile, config.train.precision
        ),
    )
    for stage in method.semantic_stages(config, data, run.checkpoints, device):
        train_stage(stage, data, run, settings, device)
    parts = method.fit_parts(config, data, run.checkpoints, device)
    c, h, _ = data.shape
    unet = unet_config(config.diffusion, c, h, parts.coarse_dim, parts.fine_dim)
    pixel = DiffusionStage(
        config.diffusion,
        unet,
        parts.condition,
        parts.sampler,
        device,
        preview_steps=config.sample.steps,
    )
    train_stage(pixel, data, run, settings, device)
    dist.barrier()
