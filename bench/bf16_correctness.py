"""Does bf16 mixed precision learn as well as fp32? Both stages of a preset, trained both ways.

For each precision it trains, through the real loop (`train_stage`, so bf16 is applied exactly
as `ucgen train` applies it), from the same seed on the preset's training images:

- stage 1 (CoFi G, E, D) for --stage1-steps steps;
- the diffusion stage, unconditional (the HM-UNet of the preset's [diffusion] section, no
  condition, so it does not depend on stage 1) for --diffusion-steps steps.

It reports the mean of each logged loss over the last quarter of the run and, for the
diffusion stage, the EDM loss of the EMA UNet in float32 on 512 held-out test images with
fixed noise levels and noise (the same sigmas and noise for both runs: a like-for-like score).
Last, sampling: 64 images (18 Heun steps, same seeds) from each trained EMA UNet, sampled in
fp32 and in bf16 (`sample.precision`); mean absolute pixel difference in [-1, 1] units between
the two precisions, beside the difference between the fp32- and bf16-trained models.

    PYTHONPATH=src python bench/bf16_correctness.py --preset digits
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from ucgen.app.driver import load_training_data
from ucgen.diffusion.pipeline import DiffusionGenerator, SamplerSettings
from ucgen.io.runs import Run
from ucgen.methods import load_config
from ucgen.methods.cofi.stage import Stage1
from ucgen.runtime.speed import SpeedSettings
from ucgen.training.diffusion_stage import DiffusionStage, unet_config
from ucgen.training.loop import LoopSettings, train_stage


def tail_means(run: Run, stage: str) -> dict[str, float]:
    """Mean of every logged loss over the last quarter of the stage's log lines."""
    rows = [r for r in run.read_metrics() if r.get("stage") == stage and "event" not in r]
    rows = rows[-max(1, len(rows) // 4) :]
    keys = [k for k in rows[0] if k not in ("stage", "step", "time")]
    return {k: statistics.mean(r[k] for r in rows) for k in keys}


def held_out_loss(stage: DiffusionStage, images: torch.Tensor) -> float:
    """EDM loss (eq. 8) of the EMA UNet, float32, fixed sigmas and noise."""
    stage.ema.eval()
    net = lambda x, c: stage.ema(x, c, None, None)  # noqa: E731
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        return stage.edm.loss(net, images, g).mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--stage1-steps", type=int, default=300)
    parser.add_argument("--diffusion-steps", type=int, default=600)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = load_config(args.preset)
    data = load_training_data(config)
    test = load_training_data(config, split="test").tensors()[:512]
    c, h, _ = data.shape
    print(
        f"preset {args.preset}: {len(data)} training images {h}x{h}x{c}, {args.threads} thread(s), "
        f"stage 1 {args.stage1_steps} steps, diffusion {args.diffusion_steps} steps, seed "
        f"{config.train.seed}; losses: mean over the last quarter of log lines\n"
    )
    emas = {}
    for precision in ("fp32", "bf16"):
        settings = LoopSettings(
            seed=config.train.seed,
            log_every=10,
            sample_every=10**9,
            checkpoint_every=10**9,
            progress=False,
            speed=SpeedSettings(channels_last=False, precision=precision),  # type: ignore[arg-type]
        )
        with tempfile.TemporaryDirectory() as tmp:
            run = Run.create(precision, config, Path(tmp))
            torch.manual_seed(config.train.seed)
            stage1 = Stage1(replace(config.method, steps=args.stage1_steps), c, h)
            start = time.perf_counter()
            train_stage(stage1, data, run, settings, torch.device("cpu"))
            s1 = time.perf_counter() - start
            torch.manual_seed(config.train.seed)
            dcfg = replace(config.diffusion, steps=args.diffusion_steps)
            diffusion = DiffusionStage(dcfg, unet_config(dcfg, c, h))
            start = time.perf_counter()
            train_stage(diffusion, data, run, settings, torch.device("cpu"))
            s2 = time.perf_counter() - start
            one = tail_means(run, "stage1")
            two = tail_means(run, "diffusion")
        print(
            f"{precision}: stage1 ({s1:.0f} s) "
            + ", ".join(f"{k} {v:.4f}" for k, v in one.items())
            + f"\n{precision}: diffusion ({s2:.0f} s) loss {two['loss']:.4f}, held-out EMA loss "
            f"{held_out_loss(diffusion, test):.4f}",
            flush=True,
        )
        emas[precision] = diffusion.ema

    samples = {}
    for trained, ema in emas.items():
        for sampled in ("fp32", "bf16"):
            generator = DiffusionGenerator(copy.deepcopy(ema), precision=sampled)  # type: ignore[arg-type]
            samples[trained, sampled] = generator.render(
                None, 64, 0, SamplerSettings(steps=18, batch_size=64)
            )
    for trained in emas:
        diff = (samples[trained, "bf16"] - samples[trained, "fp32"]).abs().mean().item()
        print(f"{trained}-trained UNet: sampled bf16 vs fp32, mean |pixel difference| {diff:.4f}")
    diff = (samples["bf16", "fp32"] - samples["fp32", "fp32"]).abs().mean().item()
    print(f"bf16- vs fp32-trained UNet, both sampled fp32: mean |pixel difference| {diff:.4f}")


if __name__ == "__main__":
    main()
