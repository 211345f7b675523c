"""`evaluate_run`: the whole evaluation of a trained run (what `ucgen eval RUN` prints).

Draws samples from the run's prior, encodes the real test images with the run's semantic
encoder (for clustering metrics and semantic consistency), re-encodes generated images (bit
recovery) and scores fine control (`ucgen.evaluation.fine`); everything else is
`evaluate_samples`. Labels are read here and nowhere in training.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from ucgen.app.driver import load_training_data
from ucgen.app.trained import TrainedModel
from ucgen.data import load_dataset
from ucgen.diffusion.edm import level_count, nfe
from ucgen.evaluation import semantic
from ucgen.evaluation.evaluate import (
    evaluate_samples,
    format_report,
    load_real_and_reference,
    report_to_json,
)
from ucgen.evaluation.features import make_features
from ucgen.evaluation.fine import KnownFactors, evaluate_fine, format_fine
from ucgen.evaluation.generation import fd_features
from ucgen.evaluation.samples import validate_samples
from ucgen.evaluation.variations import format_variations, variation_metrics
from ucgen.io.atomic import atomic_write_text
from ucgen.io.outputs import check_output
from ucgen.models.condition import Condition

# Training images whose conditions are the condition FD's target (the linear probe fits on all).
TRAIN_IMAGES = 10_000


def evaluate_run(
    model: TrainedModel,
    num_samples: int | None = None,
    features: str | None = None,
    seed: int = 0,
    out: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate a trained run on its data set's test split; writes the report to `out`
    (default RUN/eval.json) and returns it (see docs/evaluation.md for the keys).
    num_samples (default eval.num_samples) and `out` are checked before any work."""
    config = model.config
    n = config.eval.num_samples if num_samples is None else num_samples
    dataclasses.replace(config.eval, num_samples=n).check()  # the config's bound on it
    model.check_count(n)
    out = check_output(out or model.run.path / "eval.json")
    _, resolution, _ = model.image_shape
    real, reference = load_real_and_reference(
        config.data.source,
        resolution,
        config.eval,
        split="test",
        root=config.data.root,
        verbose=progress,
    )
    started = time.perf_counter()
    images, cond = model.sample(n, seed=seed)
    seconds_sampling = time.perf_counter() - started
    codes = None if cond is None or cond.code is None else cond.code.numpy()
    fine = None if cond is None or cond.fine is None else cond.fine.numpy()
    samples = validate_samples(images, codes, fine)

    real_codes, real_cond = None, None
    if model.parts.encoder is not None:
        real_cond = model.encode(real.images)
        real_codes = None if real_cond.code is None else real_cond.code.numpy()
    report = evaluate_samples(
        samples,
        real,
        reference,
        features=make_features(features or config.eval.features, reference),
        real_codes=real_codes,
        num_codes=model.parts.num_codes or None,
        seed=seed,
    )
    drawn_by, used = model.drawn_by()
    report["run"] = {
        "path": str(model.run.path),
        "method": config.train.method,
        "generator": model.generator_name,
        "drawn_by": drawn_by,
    }
    report["sampling"] = {
        "steps": level_count(used.steps),
        "solver": used.solver,
        "nfe": nfe(used.solver, used.steps),
        "rho": config.sample.rho,
        "guidance": config.sample.guidance,
        "guidance_fine": config.sample.guidance_fine,
        "images_per_second": round(n / seconds_sampling, 2),
    }
    if model.parts.encoder is not None and model.parts.code_bits and codes is not None:
        recovered = model.encode(images).code.numpy()  # type: ignore[union-attr]
        report["bit_recovery"] = semantic.bit_recovery(codes, recovered, model.parts.code_bits)
    if model.parts.fine_dim and model.parts.num_codes and real_codes is not None:
        known = None
        if real.factors:
            train = load_dataset(
                config.data.source, split="train", resolution=resolution, root=config.data.root
            )
            known = KnownFactors(train.images, train.factors, real.factors, real.factor_periods)
        report["fine_control"] = evaluate_fine(
            model,
            reference,
            real.images,
            real.labels,  # type: ignore[arg-type]
            real_codes,
            model.parts.fine_dim,
            seed,
            known,
        )
    drawn_fd = model.parts.continuous and cond is not None
    if real_cond is not None and (drawn_fd or real.labels is not None):
        train = load_training_data(config)
        if real.labels is None:
            train = train.subset(slice(0, min(len(train), TRAIN_IMAGES)))
        train_cond = model.encode(train.images)
        if drawn_fd:
            first = train_cond.slice(slice(0, TRAIN_IMAGES))
            report["condition_fd"] = condition_fd(cond.coarse, real_cond.coarse, first.coarse)
        if real.labels is not None:
            report["representation"] = representation_probe(
                train.images, train.labels, train_cond, real.images, real.labels, real_cond
            )
            report["variations"] = variation_metrics(
                model, reference, real.images, real.labels, seed
            )
    atomic_write_text(out, report_to_json(report))
    return report


def condition_fd(drawn: Any, test: Any, train: Any) -> dict[str, Any]:
    """How well the condition sampler matches the encoder (RCG's rep-FD): the Frechet distance
    of the drawn conditions (N, D) to the conditions of the training images (T, D), beside the
    floor, that of as many test images' conditions to the same training ones (FD's bias grows
    as the count falls, so the two are compared at one count)."""
    count = min(len(drawn), len(test))
    return {
        "generated": fd_features(drawn[:count].numpy(), train.numpy()),
        "floor": fd_features(test[:count].numpy(), train.numpy()),
        "count": count,
        "train": len(train),
    }


def representation_probe(
    train_images: np.ndarray,
    train_labels: np.ndarray | None,
    train: Condition,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    test: Condition,
) -> dict[str, Any]:
    """How linearly the encoder's conditions (coarse and fine, side by side) separate the
    classes: a linear probe fitted on the training images' conditions and labels (the whole
    split, as linear evaluation of self-supervised encoders does) and scored on the test split,
    beside the same probe on raw pixels (what the encoder must beat)."""
    if train_labels is None:
        return {"accuracy": None, "reason": "the training split has no labels"}

    def vectors(cond: Condition) -> np.ndarray:
        return np.concatenate([t.numpy() for t in (cond.coarse, cond.fine) if t is not None], 1)

    def pixels(images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float32) / 255

    return {
        "accuracy": semantic.linear_probe(vectors(train), train_labels, vectors(test), test_labels),
        "pixels_accuracy": semantic.linear_probe(
            pixels(train_images), train_labels, pixels(test_images), test_labels
        ),
        "train": len(train_labels),
        "test": len(test_labels),
        "dim": vectors(test).shape[1],
    }


def print_report(report: dict[str, Any]) -> None:
    """The headline table, with the run-level figures `evaluate_samples` does not make."""
    print(format_report(report))
    if "bit_recovery" in report:
        print(f"bit recovery   {report['bit_recovery']:.4f}")
    if "fine_control" in report:
        print("\n".join(format_fine(report["fine_control"])))
    if "condition_fd" in report:
        c = report["condition_fd"]
        print(
            f"condition FD   {c['generated']:.4f} (floor, as many test conditions: "
            f"{c['floor']:.4f})"
        )
    if report.get("representation", {}).get("accuracy") is not None:
        r = report["representation"]
        print(
            f"linear probe   {r['accuracy']:.4f} on the encoder's {r['dim']}-dim conditions "
            f"(raw pixels: {r['pixels_accuracy']:.4f})"
        )
    if "variations" in report:
        print(format_variations(report["variations"]))
    s = report["sampling"]
    print(
        f"sampling       {s['images_per_second']} images/s "
        f"({s['steps']} steps of {s['solver']}, {s['nfe']} NFE)"
    )
