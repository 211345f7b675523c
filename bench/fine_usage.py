"""How much a trained run's pixel generator uses the fine condition: the mean absolute pixel
change (of 255) when every image keeps its code and noise but gets another fine vector.

    python bench/fine_usage.py runs/demo runs/flat [--n 32]

Near 0 means the generator ignores the fine vector (traversals then change nothing).
"""

from __future__ import annotations

import argparse

import numpy as np

from ucgen.methods.parts import Condition
from ucgen.sampling.trained import TrainedModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=32)
    args = parser.parse_args()
    for path in args.runs:
        model = TrainedModel.load(path)
        cond = model.conditions(args.n, seed=0)
        other = Condition(cond.coarse, model.conditions(args.n, seed=7).fine, cond.code)
        a = model.render(cond, args.n, seed=0).astype(np.float64)
        b = model.render(other, args.n, seed=0).astype(np.float64)
        schedule = model.config.diffusion.fine_schedule
        print(f"{path} ({schedule}): mean |pixel change| {np.abs(a - b).mean():.2f} / 255")


if __name__ == "__main__":
    main()
