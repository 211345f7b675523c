"""RCG's self-supervised encoder trained with other options, probed as it trains.

    PYTHONPATH=src:bench python bench/encoder_variants.py --steps 1500 --every 500 \
        --variant aug_crop=0,aug_zoom=0.3 --variant "" --variant temperature=0.5

Each variant (`rcg.*` options without the prefix, comma-separated, over the fmnist preset's
[rcg] section) trains the project's encoder stage (`RepEncoderStage`: the loss, views and
optimiser of `ucgen train --method rcg`) on all 60,000 Fashion-MNIST training images in bf16,
with batches drawn by one seeded generator, and prints the linear probe of
`bench/encoder_probe.py` (backbone features and r) every --every steps.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from encoder_probe import ProbeData
from ucgen.data import load_dataset
from ucgen.methods import load_config
from ucgen.methods.rcg.stages import RepEncoderStage


def options(spec: str) -> object:
    """The fmnist preset's [rcg] options with `key=value,...` applied as `--set rcg.key=value`
    (the config loader's parsing and range checks)."""
    overrides = [f"rcg.{item}" for item in spec.split(",") if item]
    return load_config("fmnist", overrides=["train.method=rcg", *overrides]).method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", default=[], help="key=value,...; '': preset")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = load_dataset("fashion-mnist", "train").tensors()
    data = ProbeData()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.threads} torch thread(s), torch {torch.__version__}.\n\n"
        "| variant | step | backbone probe | r probe | train s |\n|---|---|---|---|---|",
        flush=True,
    )
    for spec in args.variant:
        torch.manual_seed(0)
        stage = RepEncoderStage(options(spec), 1, 28, "cpu")  # type: ignore[arg-type]
        batches = torch.Generator().manual_seed(0)
        seconds = 0.0
        for step in range(1, args.steps + 1):
            index = torch.randint(0, len(images), (stage.batch_size,), generator=batches)
            started = time.perf_counter()
            with torch.autocast("cpu", torch.bfloat16):
                stage.train_step(images[index], None, step - 1)
            seconds += time.perf_counter() - started
            if step % args.every == 0 or step == args.steps:
                backbone, r = data.probe(stage.model)
                row = f"| {spec or 'preset'} | {step} | {backbone:.4f} | {r:.4f} | {seconds:.0f} |"
                print(row, flush=True)


if __name__ == "__main__":
    main()
