"""Sampling speed of the pixel generator: images/s of Heun sampling (`diffusion.pipeline.generate`).

Builds the UNet of a preset's [diffusion] section at the preset's resolution (CoFi-sized
condition: coarse = cofi.bits, fine = cofi.fine_dim) with random weights (speed does not
depend on them) and times whole `generate` calls for each combination of execution mode
(eager, nchw, torch.compile, bf16), guidance (off: one prediction per step; on: separate
coarse and fine scales, three predictions batched into one pass) and batch size. "eager" is
the UNet as built (channels_last, see HMUNet); "nchw" the same weights in the default layout;
"bf16" NCHW with the UNet evaluations under bfloat16 autocast (`sample.precision = "bf16"`,
set up as `DiffusionGenerator` does; images differ from fp32 by bf16 rounding).

    PYTHONPATH=src python bench/bench_sampling.py                     # fmnist preset, 18 steps
    PYTHONPATH=src python bench/bench_sampling.py --threads 1 --modes eager --batch 64
    PYTHONPATH=src python bench/bench_sampling.py --set diffusion.width=32
    PYTHONPATH=src python bench/bench_sampling.py --solver dpmpp2m --steps 8 --batch 1 256 \
        --set data.resolution=64                                       # other sizes, solvers

Run by hand; figures are noisy on a shared machine, so each is the best of `--repeats` runs,
with the modes taking turns within each repeat.
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable

import torch

from ucgen.diffusion.edm import nfe
from ucgen.diffusion.pipeline import DiffusionGenerator, generate
from ucgen.methods import load_config
from ucgen.models.condition import Condition
from ucgen.models.hm_unet import HMUNet
from ucgen.training.diffusion_stage import unet_config

RESOLUTION = {"fashion-mnist": 28, "digits": 8, "shapes": 16}


def build(preset: str, overrides: list[str], device: str) -> HMUNet:
    config = load_config(preset, overrides=overrides)
    resolution = config.data.resolution or RESOLUTION[config.data.source]
    unet = unet_config(
        config.diffusion,
        in_channels=1,
        resolution=resolution,
        coarse_dim=config.method.bits,
        fine_dim=config.method.fine_dim,
    )
    torch.manual_seed(0)
    return HMUNet(unet).to(device).eval()


def prepare(unet: HMUNet, mode: str) -> HMUNet:
    """The same weights as built (channels_last), in NCHW layout, compiled by torch.compile, or
    in the layout `DiffusionGenerator` gives bf16 sampling."""
    if mode == "eager":
        return unet
    if mode == "bf16":
        return DiffusionGenerator(unet, precision="bf16").unet
    if mode == "nchw":
        return unet.to(memory_format=torch.contiguous_format)
    return torch.compile(unet)  # type: ignore[return-value]


def timer(
    unet: HMUNet,
    batch: int,
    steps: int,
    guidance: bool,
    precision: str = "fp32",
    solver: str = "heun",
) -> Callable[[int], float]:
    """A function seed -> seconds of one `generate` call of `batch` images in `precision`."""
    cfg = unet.config
    g = torch.Generator().manual_seed(0)
    device = next(unet.parameters()).device
    cond = Condition(
        coarse=torch.randn(batch, cfg.coarse_dim, generator=g).sign(),
        fine=torch.randn(batch, cfg.fine_dim, generator=g),
    ).to(device)
    scales = (2.0, 1.5) if guidance else (1.0, 1.0)

    def run(seed: int) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        generate(
            unet,
            cond,
            batch,
            seed,
            steps,
            *scales,
            batch_size=batch,
            precision=precision,  # type: ignore[arg-type]
            solver=solver,  # type: ignore[arg-type]
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    return run


def precision(mode: str) -> str:
    return "bf16" if mode == "bf16" else "fp32"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="fmnist", help="config preset (default: fmnist)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="config override section.key=value (repeatable)",
    )
    parser.add_argument("--steps", type=int, default=18, help="solver steps (noise levels)")
    parser.add_argument(
        "--solver",
        default="heun",
        choices=["heun", "dpmpp2m"],
        help="heun (2*steps-1 NFE) or dpmpp2m (steps NFE)",
    )
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64], help="batch sizes")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["eager", "nchw", "compile", "bf16"],
        choices=["eager", "nchw", "compile", "bf16"],
    )
    parser.add_argument("--guidance", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs; the best is kept")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    base = build(args.preset, args.overrides, args.device)
    cfg = base.config
    params = sum(p.numel() for p in base.parameters())
    print(
        f"UNet {cfg.resolution}x{cfg.resolution}x{cfg.in_channels} width={cfg.width} "
        f"channel_mult={cfg.channel_mult} num_res_blocks={cfg.num_res_blocks} "
        f"attention={cfg.attention} coarse={cfg.coarse_dim} fine={cfg.fine_dim}: "
        f"{params / 1e6:.2f}M parameters"
    )
    print(
        f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, "
        f"{args.steps} {args.solver} steps = {nfe(args.solver, args.steps)} NFE"
    )
    print(f"{'mode':<14}{'guidance':<10}{'batch':>6}{'images/s':>11}{'first run s':>13}")
    models = {mode: prepare(copy.deepcopy(base), mode) for mode in args.modes}
    for guidance in args.guidance:
        for batch in args.batch:
            runs = {
                m: timer(u, batch, args.steps, guidance == "on", precision(m), args.solver)
                for m, u in models.items()
            }
            first = {m: run(0) for m, run in runs.items()}  # warm-up (and compilation)
            # Modes take turns within each repeat, so a change in machine load hits all alike.
            best = dict.fromkeys(runs, float("inf"))
            for i in range(args.repeats):
                for m, run in runs.items():
                    best[m] = min(best[m], run(1 + i))
            for m in runs:
                rate = batch / best[m]
                print(f"{m:<14}{guidance:<10}{batch:>6}{rate:>11.1f}{first[m]:>13.1f}", flush=True)


if __name__ == "__main__":
    main()
