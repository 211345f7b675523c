"""Bench: train CoFi-UCGen stage 1 and measure its bit-codes against labels (labels only here).

Run by hand from the repository root, e.g.
    PYTHONPATH=src python bench/stage1_experiments.py --data digits --minutes 4
    PYTHONPATH=src python bench/stage1_experiments.py --data fmnist --minutes 15 \
        --set width=32 --set fine_dim=32
Prints one JSON line per evaluation: NMI, ARI, purity, Hungarian accuracy of the codes of the
test split against its labels, the largest code share, and bit recovery of E(G(z)).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from ucgen.data import ImageDataset, load_dataset
from ucgen.evaluation import semantic
from ucgen.io.checkpoint import load_component, save_component
from ucgen.methods.cofi.bitcodes import bit_ids, signs
from ucgen.methods.cofi.config import CoFiConfig
from ucgen.methods.cofi.stage import Stage1
from ucgen.methods.cofi.teacher import (
    AutoencoderStage,
    ManifoldTeacher,
    TeacherConfig,
    fit_teacher,
)
from ucgen.report.grid import save_grid
from ucgen.runtime.speed import SpeedSettings, apply_speed, precision_scope
from ucgen.training.loop import batch_indices


def load(name: str, split: str, resolution: int | None) -> ImageDataset:
    """A data set at `resolution` (None: 16 px for digits, the digits preset's size, and the
    source's own size for the rest)."""
    if name == "digits":
        resolution = resolution or 16
    return load_dataset("fashion-mnist" if name == "fmnist" else name, split, resolution=resolution)


@torch.no_grad()
def evaluate(stage: Stage1, test: ImageDataset, n_gen: int = 2000) -> dict[str, float]:
    """Code metrics of the EMA encoder on the test split, and bit recovery of E(G(z))."""
    x = test.tensors()
    codes = np.concatenate(
        [bit_ids(stage.E_ema(x[i : i + 500])[0]).numpy() for i in range(0, len(x), 500)]
    )
    labels = test.labels
    gen = torch.Generator().manual_seed(123)
    z = torch.randn(n_gen, stage.net_config.latent_dim, generator=gen)
    k = stage.config.bits
    r_c, _ = stage.E_ema(stage.G_ema(z[:, :k], z[:, k:]))
    return {
        "nmi": round(semantic.nmi(codes, labels), 4),
        "ari": round(semantic.ari(codes, labels), 4),
        "purity": round(semantic.purity(codes, labels), 4),
        "acc": round(semantic.hungarian_accuracy(codes, labels), 4),
        "max_share": round(float(np.bincount(codes).max() / len(codes)), 4),
        "codes_used": len(np.unique(codes)),
        "bit_recovery": round((signs(r_c) == signs(z[:, :k])).float().mean().item(), 4),
    }


def train_teacher(
    config: CoFiConfig,
    x_all: torch.Tensor,
    test: ImageDataset,
    seed: int,
    precision: str,
    folder: Path | None,
) -> ManifoldTeacher:
    """The coarse teacher as `ucgen train` fits it (batches drawn with replacement), or the
    one saved in `folder` by an earlier run with the same settings; prints its own codes'
    metrics on the test split."""
    start = time.time()
    if folder is not None and (folder / "config.json").is_file():
        teacher = load_component(ManifoldTeacher, TeacherConfig, folder)
    else:
        _, c, h, _ = x_all.shape
        stage = AutoencoderStage(config.teacher_steps, c, h)
        rng = np.random.default_rng([seed, 1])
        for step in range(config.teacher_steps):
            with precision_scope(precision, torch.device("cpu")):
                batch = x_all[rng.integers(0, len(x_all), stage.batch_size)]
                stage.train_step(batch, None, step)
        teacher = fit_teacher(stage.model, x_all, config.bits, seed)
        if folder is not None:
            save_component(teacher, teacher.config, folder)
    codes = teacher.code(test.tensors()).numpy()
    row = {
        "teacher": True,
        "sec": round(time.time() - start),
        "nmi": round(semantic.nmi(codes, test.labels), 4),
        "purity": round(semantic.purity(codes, test.labels), 4),
        "max_share": round(float(np.bincount(codes).max() / len(codes)), 4),
    }
    print(json.dumps(row), flush=True)
    return teacher


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="digits", help="digits | fmnist | a registered name")
    ap.add_argument("--minutes", type=float, default=4.0, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=10**9, help="step budget")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--resolution", type=int, default=None, help="resize images to this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--precision", choices=["fp32", "bf16"], default="bf16", help="as train.precision"
    )
    ap.add_argument("--out", default=None, help="folder for the preview grid and the model")
    ap.add_argument(
        "--teacher-cache",
        type=Path,
        default=None,
        help="folder to load the coarse teacher from, or to save it in once fitted",
    )
    ap.add_argument(
        "--shuffle-teacher-ids",
        type=int,
        default=None,
        metavar="SEED",
        help="renumber the teacher's codes at random (ablation of their neighbour order)",
    )
    ap.add_argument("--set", action="append", default=[], help="CoFiConfig key=value")
    ap.add_argument(
        "--order",
        choices=["replacement", "epochs"],
        default="replacement",
        help="batches drawn with replacement, or as `ucgen train` draws them (seeded epochs)",
    )
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    fields = {f.name: f for f in dataclasses.fields(CoFiConfig)}
    values = {}
    for item in args.set:
        key, value = item.split("=", 1)
        values[key] = json.loads(value) if fields[key].type != "str" else value
    config = CoFiConfig(**values)
    train = load(args.data, "train", args.resolution)
    test = load(args.data, "test", args.resolution)
    x_all = train.tensors()
    teacher = None
    if config.teacher_steps > 0:
        teacher = train_teacher(config, x_all, test, args.seed, args.precision, args.teacher_cache)
        if args.shuffle_teacher_ids is not None:
            # the same partition under arbitrary ids, as k-means numbers its clusters
            g = torch.Generator().manual_seed(args.shuffle_teacher_ids)
            teacher.codes.copy_(torch.randperm(2**config.bits, generator=g)[teacher.codes])
    stage = Stage1(config, train.channels, train.resolution, teacher=teacher)
    apply_speed(stage.networks(), SpeedSettings(channels_last=True, precision=args.precision))
    print(
        json.dumps(
            {
                "config": dataclasses.asdict(config),
                "data": args.data,
                "seed": args.seed,
                "precision": args.precision,
                "train": len(train),
                "test": len(test),
            }
        ),
        flush=True,
    )
    rng = np.random.default_rng(args.seed)
    start, step = time.time(), 0
    while step < args.steps and time.time() - start < 60 * args.minutes:
        if args.order == "epochs":
            batch = x_all[batch_indices(step, len(x_all), config.batch_size, args.seed)]
        else:
            batch = x_all[rng.integers(0, len(x_all), config.batch_size)]
        with precision_scope(args.precision, torch.device("cpu")):
            logs = stage.train_step(batch, None, step)
        step += 1
        if step % args.eval_every == 0:
            row = {
                "step": step,
                "sec": round(time.time() - start),
                **{k: round(v, 3) for k, v in logs.items()},
                **evaluate(stage, test),
            }
            print(json.dumps(row), flush=True)
    final = {
        "final": True,
        "step": step,
        "sec": round(time.time() - start),
        **evaluate(stage, test),
    }
    print(json.dumps(final), flush=True)
    if args.out:
        out = Path(args.out)
        save_grid(stage.preview(torch.Generator().manual_seed(0)), out / "preview.png", ncols=8)
        stage.save(out / "model")


if __name__ == "__main__":
    main()
