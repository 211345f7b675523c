"""Bench: how much of a real image `ucgen vary` keeps at each --strength: the mean absolute
pixel change (of 255) between the first --images test images and their variations.

    PYTHONPATH=src python bench/vary_strength.py runs/fm --data fashion-mnist \
        --strengths 1 0.5 0.3 [--grid vary.png]

Strength 1 draws every variation from noise (only the code and fine vector tie it to the
image); lower strengths start from the image (SDEdit). --grid writes one row per image and
strength: the image, then its variations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ucgen.app.trained import TrainedModel
from ucgen.data import load_dataset, to_uint8
from ucgen.report.grid import save_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--n", type=int, default=7, help="variations per image")
    ap.add_argument("--strengths", type=float, nargs="+", default=[1.0, 0.5, 0.3])
    ap.add_argument("--grid", type=Path, default=None)
    args = ap.parse_args()
    model = TrainedModel.load(args.run)
    _, resolution, _ = model.image_shape
    images = to_uint8(
        load_dataset(args.data, "test", resolution=resolution).tensors()[: args.images]
    )
    rows = []
    for strength in args.strengths:
        change = []
        for image in images:
            variations, _ = model.vary(image[None], n=args.n, strength=strength)
            change.append(np.abs(variations.astype(float) - image.astype(float)).mean())
            rows.append(np.concatenate([image[None], variations]))
        print(f"strength {strength}: mean |pixel change| {np.mean(change):.1f} / 255")
    if args.grid is not None:
        print(f"grid: {save_grid(np.concatenate(rows), args.grid, ncols=args.n + 1)}")


if __name__ == "__main__":
    main()
