"""`ucgen demo`: the whole job on one data set, end to end: train, pictures, evaluation, report.

With the `digits` preset (the default) this is the README's main command: a small CoFi-UCGen
model on scikit-learn's bundled digits, in minutes on a CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ucgen.cli.common import add_config_args
from ucgen.io.runs import Run
from ucgen.methods import load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train, draw pictures, evaluate and write a report, in one go",
        description="Train a method (default: CoFi-UCGen on the digits preset), then write "
        "samples per code, fine-attribute traversals and bit flips, evaluate against the "
        "labels, and write an HTML report. Prints where to look.",
    )
    add_config_args(p)
    p.set_defaults(preset="digits")
    p.add_argument("--name", default="demo", help="run name (default: demo)")
    p.add_argument("--runs-dir", default="runs", type=Path, help="where runs go (default: runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from ucgen.app.driver import train_run
    from ucgen.app.run_eval import evaluate_run, print_report
    from ucgen.app.trained import TrainedModel
    from ucgen.cli.report_cmd import model_pictures
    from ucgen.report.html import write_report

    config = load_config(args.preset, args.config, args.overrides)
    run = Run.create(args.name, config, args.runs_dir)
    print(f"[1/4] training {config.train.method} on {config.data.source} into {run.path}")
    train_run(config, run, progress=not args.no_progress)

    print("[2/4] drawing pictures")
    model = TrainedModel.load(run.path)
    pictures = draw_pictures(model)
    print("[3/4] evaluating")
    results = evaluate_run(model, progress=not args.no_progress)
    print_report(results)
    print("[4/4] writing the report")
    report = write_report(run, model_pictures(model))
    print(f"\nWhere to look:\n  report    {report}\n  pictures  {run.samples}")
    for path in pictures:
        print(f"            {path.name}")
    print(f"  metrics   {run.path / 'eval.json'}\n  training  {run.metrics_path}")
    return 0


def draw_pictures(model, per_code: int = 8) -> list[Path]:
    """Samples per code (a row each), a traversal of the first fine directions and one bit
    flip per bit, as PNGs in the run's samples folder."""
    import numpy as np

    from ucgen.report.grid import save_grid

    samples = model.run.samples
    written = []
    parts = model.parts
    if parts.num_codes:
        rows = [model.sample(per_code, seed=code, code=code)[0] for code in range(parts.num_codes)]
        written.append(save_grid(np.concatenate(rows), samples / "codes.png", ncols=per_code))
    else:
        written.append(save_grid(model.sample(64)[0], samples / "samples.png"))
    if parts.fine_dim and parts.num_codes:
        strips = [model.traverse(0, d, length=per_code)[0] for d in range(min(4, parts.fine_dim))]
        written.append(
            save_grid(np.concatenate(strips), samples / "traverse-c0.png", ncols=per_code)
        )
    for bit in range(parts.code_bits):
        before, after = model.flip(0, bit, n=per_code)
        written.append(
            save_grid(
                np.concatenate([before, after]), samples / f"flip-c0-b{bit}.png", ncols=per_code
            )
        )
    return written
