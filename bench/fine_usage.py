"""How much a trained run's pixel generator uses the fine condition: the mean absolute pixel
change (of 255) when every image keeps its code and noise but gets another fine vector.

    python bench/fine_usage.py runs/demo runs/flat [--n 32]

Near 0 means the generator ignores the fine vector (traversals then change nothing). Prints one
markdown table row per run, with the run's `ucgen eval` figures beside it where it has an
eval.json (the demo writes one): FD, class retention along fine traversals, control accuracy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ucgen.app.trained import TrainedModel
from ucgen.models.condition import Condition


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=32)
    args = parser.parse_args()
    columns = ["run", "fine_schedule", "channel_mult", "seed", "pixel change /255"]
    columns += ["FD", "retention", "control"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    for path in args.runs:
        model = TrainedModel.load(path)
        cond = model.conditions(args.n, seed=0)
        other = Condition(cond.coarse, model.conditions(args.n, seed=7).fine, cond.code)
        a = model.render(cond, args.n, seed=0).astype(np.float64)
        b = model.render(other, args.n, seed=0).astype(np.float64)
        diffusion = model.config.diffusion
        figures = ["-"] * 3
        eval_json = Path(path) / "eval.json"
        if eval_json.exists():
            report = json.loads(eval_json.read_text())
            figures = [
                f"{report['generation']['fd']:.1f}",
                f"{report['fine_control']['class_retention']['value']:.2f}",
                f"{report['control']['mean']:.2f}",
            ]
        print(
            f"| {path} | {diffusion.fine_schedule} | {list(diffusion.channel_mult)} "
            f"| {model.config.train.seed} | {np.abs(a - b).mean():.2f} | {' | '.join(figures)} |"
        )


if __name__ == "__main__":
    main()
