"""Bench: where one RDM training step's time goes, on a trained RCG run's own networks: the
frozen encoder's forward on a batch of images (what the stage did at every step before it
encoded the data set once) against the RDM's loss and Adam step on a batch of representations.

    PYTHONPATH=src python bench/rdm_step_time.py runs/fm-rcg [--batch 256] [--threads 2]

bf16 autocast as in training; each figure the mean of 30 calls after 5 of warm-up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from ucgen.app.trained import TrainedModel
from ucgen.methods.rcg.stages import REP_EDM, RDMStage
from ucgen.runtime.speed import precision_scope

CPU = torch.device("cpu")


def seconds_per_call(f: Callable[[], object], calls: int = 30, warmup: int = 5) -> float:
    for _ in range(warmup):
        f()
    started = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = TrainedModel.load(args.run)
    encoder = model.parts.encoder.net
    stage = RDMStage(model.config.method, encoder, CPU)
    c, h, w = model.image_shape
    images = torch.rand(args.batch, c, h, w) * 2 - 1
    with precision_scope("bf16", CPU), torch.no_grad():
        r = encoder.represent(images)

    def rdm_step() -> None:
        stage.optimise(REP_EDM.loss(stage.model, r).mean(), 0, model.config.method.rdm_ema)

    with precision_scope("bf16", CPU):
        with torch.no_grad():
            encode = seconds_per_call(lambda: encoder.represent(images))
        step = seconds_per_call(rdm_step)
    print(
        f"batch {args.batch}, {args.threads} threads: encoder forward {encode:.4f} s, "
        f"RDM loss + Adam step {step:.4f} s"
    )


if __name__ == "__main__":
    main()
