"""`ucgen demo`: the whole job on one data set, end to end: train, pictures, evaluation, report.

With the `digits` preset (the default) this is the README's main command: a small CoFi-UCGen
model on scikit-learn's bundled digits, in minutes on a CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ucgen.cli.common import add_config_args, add_method_arg, method_overrides
from ucgen.io.runs import Run
from ucgen.methods import load_config

if TYPE_CHECKING:
    from ucgen.report.figures import ModelPictures


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train, draw pictures, evaluate and write a report, in one go",
        description="Train a method (default: CoFi-UCGen on the digits preset), then write "
        "samples per code, fine-attribute traversals, bit flips and variations of real "
        "images (what the method offers), evaluate against the labels, and write an HTML "
        "report. Prints where to look.",
    )
    add_config_args(p)
    add_method_arg(p)
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

    config = load_config(args.preset, args.config, [*method_overrides(args), *args.overrides])
    run = Run.create(args.name, config, args.runs_dir)
    print(f"[1/4] training {config.train.method} on {config.data.source} into {run.path}")
    train_run(config, run, progress=not args.no_progress)

    print("[2/4] drawing pictures")
    model = TrainedModel.load(run.path)
    pictures = model_pictures(model)
    written = save_pictures(pictures, run.samples)
    print("[3/4] evaluating")
    results = evaluate_run(model, progress=not args.no_progress)
    print_report(results)
    print("[4/4] writing the report")
    report = write_report(run, pictures)
    print(f"\nWhere to look:\n  report    {report}\n  pictures  {run.samples}")
    for path in written:
        print(f"            {path.name}")
    print(f"  metrics   {run.path / 'eval.json'}\n  training  {run.metrics_path}")
    return 0


def save_pictures(pictures: ModelPictures, folder: Path) -> list[Path]:
    """The report's pictures of the model as PNGs in the run's samples folder: generated
    images per code (a row each; samples without codes), each traversed code's strips, each
    bit flip, the variations of real images and the interpolations between them."""
    import numpy as np

    from ucgen.report.grid import save_grid

    written = []
    if pictures.codes:
        rows = np.concatenate([row.generated for row in pictures.codes])
        written.append(
            save_grid(rows, folder / "codes.png", ncols=len(pictures.codes[0].generated))
        )
    elif pictures.samples is not None:
        written.append(save_grid(pictures.samples, folder / "samples.png"))
    for code in dict.fromkeys(strip.code for strip in pictures.traversals):
        strips = [s for s in pictures.traversals if s.code == code]
        images = np.concatenate([s.images for s in strips])
        written.append(save_grid(images, folder / f"traverse-c{code}.png", ncols=strips[0].columns))
    for flip in pictures.flips:
        path = folder / f"flip-c{flip.code}-b{flip.bit}.png"
        written.append(save_grid(flip.images, path, ncols=flip.columns))
    for name, strips in (("vary", pictures.variations), ("interpolate", pictures.interpolations)):
        if strips:
            images = np.concatenate([s.images for s in strips])
            written.append(save_grid(images, folder / f"{name}.png", ncols=strips[0].columns))
    return written
