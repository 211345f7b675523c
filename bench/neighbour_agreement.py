"""Bench: how often an image's nearest training images share its label (labels only here).

The pairs of `stage1.mi_neighbours` are only as good as this agreement. Run from the
repository root, e.g.
    PYTHONPATH=src python bench/neighbour_agreement.py --data fashion-mnist --k 1 5 10
Prints one line per k: the share of the k nearest neighbours (pixel PCA space, as training
uses them) of the first --n training images whose label equals the image's.
"""

from __future__ import annotations

import argparse

import torch

from ucgen.data import load_dataset
from ucgen.methods.cofi.neighbours import PixelNeighbours


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="fashion-mnist", help="a registered name or a path")
    ap.add_argument("--resolution", type=int, default=None)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 5, 10])
    ap.add_argument("--n", type=int, default=5000, help="images whose neighbours are checked")
    args = ap.parse_args()
    data = load_dataset(args.data, "train", resolution=args.resolution)
    if data.labels is None:
        raise SystemExit(f"{args.data} has no labels to check the neighbours against")
    images, labels = data.tensors(), torch.as_tensor(data.labels)
    index = PixelNeighbours(images, max(args.k)).nearest(images[: args.n])
    for k in sorted(args.k):
        agree = (labels[index[:, :k]] == labels[: args.n, None]).float().mean().item()
        print(f"{args.data}: {agree:.3f} of the {k} nearest share the label")


if __name__ == "__main__":
    main()
