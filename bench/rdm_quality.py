"""How good RCG's representation diffusion model (RDM) can get, on one run's representations.

    PYTHONPATH=src python bench/rdm_quality.py runs/fm-rcg \
        --variant steps=12000 --marks 3000 6000 --variant steps=20000,width=512

Encodes the run's training images once with its encoder (RCG's representations: no
augmentation, so they are the same every epoch) and trains, for each variant (`rcg.rdm_*`
options without the prefix, and `sample_steps`), the project's RDM stage on them: the same
stage, loss, EMA and sampler as `ucgen train`, fed the representations instead of images. Each
row (one per --marks step below the variant's steps, and one at its end): rep-FD of 10,000
drawn representations, as the RDM draws them and standardised as the run's condition sampler
uses them, against the first 10,000 training ones, the floor (as many test representations
against the same), training seconds and steps per second. The
count is `ucgen eval`'s on Fashion-MNIST: FD's bias falls with the count, and at 1000 it hid
most of the gap (one RDM: 1.49x its floor at 1000 drawn, 5.1x at 10,000).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from pathlib import Path

import torch
from torch import nn

from ucgen.app.driver import load_training_data
from ucgen.app.trained import TrainedModel
from ucgen.evaluation.generation import fd_features
from ucgen.methods.rcg.stages import RDMStage, sample_representations
from ucgen.models.rep_encoder import standardise
from ucgen.training.loop import batch_indices

DRAWN = 10_000
TARGET = 10_000


class Given(nn.Module):
    """An "encoder" that passes its input through: the stage is fed representations."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.config = type("Shape", (), {"dim": dim})()

    def represent(self, r: torch.Tensor) -> torch.Tensor:
        return r


def parse(spec: str) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=") for item in spec.split(","))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument(
        "--marks", type=int, nargs="*", default=[], help="also score at these steps"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = TrainedModel.load(args.run)
    config = model.config
    encoder = model.parts.encoder
    train = encoder.represent(load_training_data(config).tensors())
    test = encoder.represent(load_training_data(config, "test").tensors())
    target = train[:TARGET].numpy()
    floor = fd_features(test[:DRAWN].numpy(), target)
    lines = [
        f"# RDM quality on {args.run}",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.threads} torch thread(s), torch {torch.__version__}.",
        f"Representations: {train.shape[1]}-dim, {len(train)} training, {len(test)} test; "
        f"floor (rep-FD of {DRAWN} test representations): {floor:.4f}.",
        "",
        "| variant | step | rep-FD as drawn | rep-FD standardised | x floor | train s | steps/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in args.variant:
        v = parse(spec)
        sample_steps = int(v.pop("sample_steps", config.method.rdm_sample_steps))
        options = dataclasses.replace(
            config.method,
            **{f"rdm_{k}": (int(x) if k != "lr" and k != "ema" else x) for k, x in v.items()},
        )
        marks = {m for m in args.marks if m < options.rdm_steps} | {options.rdm_steps}
        torch.manual_seed(0)
        stage = RDMStage(options, Given(train.shape[1]), "cpu")
        seconds = 0.0
        for step in range(1, stage.total_steps + 1):
            started = time.perf_counter()
            index = batch_indices(step - 1, len(train), stage.batch_size, 0)
            stage.train_step(train[index], None, step - 1)
            seconds += time.perf_counter() - started
            if step not in marks:
                continue
            raw = sample_representations(stage.ema.eval(), DRAWN, 0, sample_steps)
            fd_raw = fd_features(raw.numpy(), target)
            fd = fd_features(standardise(raw).numpy(), target)
            lines.append(
                f"| {spec} | {step} | {fd_raw:.4f} | {fd:.4f} | {fd / floor:.2f} | "
                f"{seconds:.0f} | {step / seconds:.0f} |"
            )
            print(lines[-1], flush=True)
    lines += ["", f"Command: `python {' '.join(os.sys.argv)}`", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
