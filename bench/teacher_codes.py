"""Bench: how well a trained run's coarse teacher and stage-1 encoder cluster the test split
(labels only here), and the stage-1 generator's bit recovery.

Run from the repository root on a run trained with a teacher, e.g.
    PYTHONPATH=src python bench/teacher_codes.py runs/fm --data fashion-mnist --steps 3000
Prints the teacher's codes, the EMA encoder's at each given checkpoint step and at the last
(with the share of test and of the first 10k training images where it gives the teacher's
code, and how many of its other test codes are one bit from the teacher's), and the share
of bits of E(G(z)) equal to sign(z_c) over 2000 prior draws.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ucgen.data import load_dataset
from ucgen.evaluation import semantic
from ucgen.io.checkpoint import load_component
from ucgen.methods.cofi.bitcodes import bit_ids, id_bits
from ucgen.methods.cofi.teacher import ManifoldTeacher, TeacherConfig
from ucgen.models.stage1 import Encoder, Generator, Stage1NetConfig


def report(name: str, codes: np.ndarray, labels: np.ndarray) -> None:
    print(
        f"{name}: NMI {semantic.nmi(codes, labels):.3f}, purity "
        f"{semantic.purity(codes, labels):.3f}, largest code "
        f"{np.bincount(codes).max() / len(codes):.3f}",
        flush=True,
    )


def encoder_codes(encoder: Encoder, x: torch.Tensor) -> torch.Tensor:
    """(N,) bit-code ids of images (N, C, H, W), in batches."""
    return torch.cat([bit_ids(encoder(x[i : i + 1000])[0]) for i in range(0, len(x), 1000)])


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("run", type=Path)
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--steps", type=int, nargs="*", default=[], help="stage-1 checkpoint steps")
    args = ap.parse_args()
    torch.set_num_threads(1)
    test = load_dataset(args.data, "test")
    x, labels = test.tensors(), np.asarray(test.labels)
    train = load_dataset(args.data, "train").tensors()[:10000]
    checkpoints = args.run / "checkpoints"
    teacher = load_component(ManifoldTeacher, TeacherConfig, checkpoints / "teacher")
    k = teacher.config.bits
    taught = {"test": teacher.code(x), "train": teacher.code(train)}
    report("teacher", taught["test"].numpy(), labels)
    folders = [checkpoints / "stage1" / f"step-{s:07d}" for s in args.steps]
    folders.append(sorted((checkpoints / "stage1").glob("step-*"))[-1])
    for folder in folders:
        encoder = load_component(Encoder, Stage1NetConfig, folder / "components" / "encoder")
        codes = encoder_codes(encoder, x)
        report(f"encoder {folder.name}", codes.numpy(), labels)
        agree_train = (encoder_codes(encoder, train) == taught["train"]).float().mean()
        differ = codes != taught["test"]
        one_bit = (id_bits(codes[differ], k) != id_bits(taught["test"][differ], k)).sum(1) == 1
        print(
            f"  gives the teacher's code on {(~differ).float().mean():.3f} of the test images, "
            f"{agree_train:.3f} of the first 10k training images; "
            f"{one_bit.float().mean():.3f} of its other test codes are one bit from the teacher's"
        )
    generator = load_component(Generator, Stage1NetConfig, folder / "components" / "generator")
    z = torch.randn(2000, encoder.config.latent_dim, generator=torch.Generator().manual_seed(123))
    recovered = encoder(generator(z[:, :k], z[:, k:]))[0]
    print(f"bit recovery {((recovered >= 0) == (z[:, :k] >= 0)).float().mean().item():.3f}")


if __name__ == "__main__":
    main()
