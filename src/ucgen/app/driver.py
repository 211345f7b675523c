"""Train a whole method into a run folder: its semantic stages, then the pixel generator.

This is what `ucgen train` runs. It knows methods only through the `Method` interface.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from ucgen.config import Config
from ucgen.data import ImageDataset, load_dataset
from ucgen.errors import ConfigError
from ucgen.io.runs import Run
from ucgen.methods import get_method
from ucgen.methods.method import Method
from ucgen.models.condition import Condition
from ucgen.runtime import distributed as dist
from ucgen.runtime.checkpoints import checkpoint_step, latest_checkpoint
from ucgen.runtime.speed import SpeedSettings, set_threads
from ucgen.training.diffusion_stage import DiffusionStage, unet_config
from ucgen.training.distill_stage import Distilled, GuidanceDistillStage, StepDistillStage
from ucgen.training.loop import LoopSettings, train_stage

# What a resume may change of the shared sections: run-time settings of training, the sampling
# and evaluation defaults, where the images are read from and how many, and how long the pixel
# generator trains. Every other key defines the saved networks' shapes, the method (its losses
# and augmentation) or the data order and random state the checkpoints continue, so changing it
# would make the checkpoints fit a config they were not trained with (or not load at all). A
# method's own section says what of it may change in its `resumable` (key -> the stage whose
# length it sets, or None).
RESUMABLE: dict[str, dict[str, str | None]] = {
    "train": dict.fromkeys(
        (
            "device",
            "log_every",
            "sample_every",
            "checkpoint_every",
            "on_divergence",
            "rollback_lr_factor",
            "max_rollbacks",
            "channels_last",
            "compile",
            "threads",
            "precision",
        )
    ),
    "sample": dict.fromkeys(f.name for f in dataclasses.fields(Config().sample)),
    "eval": dict.fromkeys(f.name for f in dataclasses.fields(Config().eval)),
    "data": dict.fromkeys(("root", "limit")),
    "diffusion": {
        "steps": DiffusionStage.name,
        "distill_steps": GuidanceDistillStage.name,
        "step_distill_steps": StepDistillStage.name,
        "step_distill_levels": None,
    },
}
# What a distillation stage's student learns (the guidance scales; for step distillation also
# the levels): fixed once the stage has started.
GUIDANCE_KEYS = ("sample.guidance", "sample.guidance_fine")
LEARNED_KEYS = {
    GuidanceDistillStage.name: ("guidance distillation", GUIDANCE_KEYS),
    StepDistillStage.name: (
        "step distillation",
        (*GUIDANCE_KEYS, "sample.rho", "diffusion.step_distill_levels"),
    ),
}
# Why some refused keys are refused, where the general reason would puzzle.
REFUSED_BECAUSE = {
    "lr": "the checkpoint's optimiser state keeps its own learning rate; "
    "train.on_divergence=rollback lowers it on resume",
    "seed": "the checkpoints continue this seed's data order and random state",
    "batch_size": "the checkpoints continue this batch size's data order",
}
# Every method trains the pixel generator last, then (optionally) its guidance-distilled and
# step-distilled students: only the length of the last stage begun may grow once it has finished.
LAST_STAGES = (DiffusionStage.name, GuidanceDistillStage.name, StepDistillStage.name)


def check_resume(saved: Config, config: Config, run: Run) -> None:
    """Refuse a resumed `config` that differs from the run's `saved` one in a key a resume may
    not change (see RESUMABLE), or that shortens a stage below the steps it has trained, or
    lengthens a finished stage that later parts were built from; the message names the key."""
    if config.train.method != saved.train.method:
        raise ConfigError(
            f"train.method: a resumed run keeps {saved.train.method!r} (it defines the run's "
            f"networks, method or data); start a new run to use {config.train.method!r}"
        )
    resumable = dict(RESUMABLE)
    if saved.method is not None:
        resumable[saved.train.method] = type(saved.method).resumable
    new_sections = config.sections()
    learning = [
        (words, keys)
        for stage, (words, keys) in LEARNED_KEYS.items()
        if latest_checkpoint(run.checkpoints / stage) is not None
    ]
    for name, old in saved.sections().items():
        new = new_sections[name]
        for item in dataclasses.fields(old):
            before, after = getattr(old, item.name), getattr(new, item.name)
            if before == after:
                continue
            key = f"{name}.{item.name}"
            allowed = resumable.get(name, {})
            if item.name not in allowed:
                reason = REFUSED_BECAUSE.get(
                    item.name, "it defines the run's networks, method or data"
                )
                raise ConfigError(
                    f"{key}: a resumed run keeps {before!r} ({reason}); start a new run to "
                    f"use {after!r}"
                )
            stage = allowed[item.name]
            if stage is not None:
                _check_new_length(key, before, after, run, stage)
            for words, keys in learning:
                if key in keys:
                    raise ConfigError(
                        f"{key}: the run's {words} has started at {before!r} (its student "
                        f"learns it); sample at {after!r} with the sampling options, or start "
                        "a new run"
                    )


def _check_new_length(key: str, before: int, after: int, run: Run, stage: str) -> None:
    latest = latest_checkpoint(run.checkpoints / stage)
    done = 0 if latest is None else checkpoint_step(latest)
    if after < done:
        raise ConfigError(f"{key}: stage '{stage}' has trained {done} steps already; got {after}")
    later = LAST_STAGES[LAST_STAGES.index(stage) + 1 :] if stage in LAST_STAGES else ()
    started_later = any(latest_checkpoint(run.checkpoints / name) for name in later)
    if (stage not in LAST_STAGES or started_later) and done >= before:
        raise ConfigError(
            f"{key}: stage '{stage}' has finished its {before} steps and the later stages "
            f"were built from it; start a new run to train it for {after}"
        )


def load_training_data(config: Config, split: str = "train") -> ImageDataset:
    """The configured data set (first `data.limit` images when a limit is set)."""
    data = load_dataset(
        config.data.source, split=split, resolution=config.data.resolution, root=config.data.root
    )
    if config.data.limit is not None and split == "train":
        data = data.subset(slice(0, config.data.limit))
    return data


def train_run(
    config: Config,
    run: Run,
    progress: bool = True,
    data: ImageDataset | None = None,
    method: Method | None = None,
) -> None:
    """Train (or resume) every stage of `config.train.method` in `run`, on `data` when given
    (it must be `load_training_data(config)`), else on the configured data loaded here.
    `method`: an instance of that method built in Python (e.g. `RCG(encoder=net)` with a
    network of one's own) instead of the registry's default one.

    Stages already finished in the run are loaded, not retrained, so the same call resumes a
    killed run from its last complete checkpoint.
    """
    device = dist.local_device(config.train.device)
    dist.init_from_env(device)
    set_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    if data is None:
        data = load_training_data(config)
    method = method or get_method(config.train.method)
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
    condition, preview = parts.condition, None if parts.sampler is None else parts.sampler.sample
    if parts.unet_input is not None:
        condition = _mapped(condition, parts.unet_input)
        preview = _mapped(preview, parts.unet_input)
    pixel = DiffusionStage(
        config.diffusion,
        unet,
        condition,
        preview,
        device,
        preview_steps=config.sample.steps,
        preview_solver=config.sample.solver,
        preview_rho=config.sample.rho,
        init=parts.unet_init,
    )
    train_stage(pixel, data, run, settings, device)
    d, guidance = config.diffusion, Distilled(config.sample.guidance, config.sample.guidance_fine)
    teacher, teacher_guidance = pixel.ema, guidance
    if d.distill_steps:
        student = GuidanceDistillStage(
            pixel.ema,
            guidance,
            d.distill_steps,
            d.batch_size,
            d.lr,
            d.ema,
            condition,
            preview,
            preview_steps=config.sample.steps,
            preview_solver=config.sample.solver,
            preview_rho=config.sample.rho,
        )
        train_stage(student, data, run, settings, device)
        teacher, teacher_guidance = student.ema, Distilled()
    if d.step_distill_steps:
        fewstep = StepDistillStage(
            teacher,
            teacher_guidance,
            guidance,
            d.step_distill_levels,
            config.sample.rho,
            d.step_distill_steps,
            d.batch_size,
            d.lr,
            d.ema,
            condition,
            preview,
        )
        train_stage(fewstep, data, run, settings, device)
    dist.barrier()


def _mapped(
    fn: Callable[..., Condition] | None, unet_input: Callable[[Condition], Condition]
) -> Callable[..., Condition] | None:
    """fn's conditions passed through `Parts.unet_input` (None stays None)."""
    if fn is None:
        return None
    return lambda *args: unet_input(fn(*args))
