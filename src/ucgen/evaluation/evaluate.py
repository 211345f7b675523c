"""`evaluate_samples`: every label-based metric for one set of generated images, as one
JSON-ready report; `format_report` prints it as a table. Used by `ucgen eval --samples FILE`
and by `ucgen eval RUN` (which draws the samples and encodes the real test images first).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Literal

import numpy as np

from ucgen.config import EvalConfig
from ucgen.data import ImageDataset, load_dataset
from ucgen.errors import UcgenError
from ucgen.evaluation import generation, semantic
from ucgen.evaluation.features import FeatureExtractor
from ucgen.evaluation.reference import Reference, ReferenceConfig, get_reference
from ucgen.evaluation.samples import Samples, validate_samples

FD_NOTE = (
    "FD/KID/precision/recall are computed on the features named here; FD on the "
    "reference CNN's features is NOT comparable with published Inception FIDs."
)


def load_real_and_reference(
    data: str,
    resolution: int,
    config: EvalConfig,
    split: Literal["train", "test"] = "test",
    root: str | None = None,
    verbose: bool = True,
) -> tuple[ImageDataset, Reference]:
    """The labeled real split to compare with, at `resolution` (the generated images' size),
    and the data set's reference network (trained on the train split on first use, cached)
    with the settings of `config` (eval.reference_width, eval.reference_epochs)."""
    train = load_dataset(data, split="train", resolution=resolution, root=root)
    test = load_dataset(data, split="test", resolution=resolution, root=root)
    reference = get_reference(
        train,
        test,
        ReferenceConfig(width=config.reference_width, epochs=config.reference_epochs),
        verbose=verbose,
    )
    return (test if split == "test" else train), reference


def evaluate_samples(
    samples: Samples | np.ndarray,
    real: ImageDataset,
    reference: Reference,
    features: FeatureExtractor | None = None,
    real_codes: np.ndarray | None = None,
    num_codes: int | None = None,
    kid_subset_size: int = 1000,
    prdc_k: int = 5,
    prdc_max: int = 10000,
    seed: int = 0,
) -> dict[str, Any]:
    """Score generated images against a labeled real split (normally the test split).

    samples: a `Samples` (images uint8 (N, H, W, C), codes (N,) with -1 for none), or bare
        images (then no code-based metric is computed).
    real: labeled real images at the samples' resolution and channels.
    reference: the data set's reference classifier (predictions for control metrics).
    features: feature network for FD/KID/PRDC (default: the reference network itself).
    real_codes: (len(real),) codes the method's encoder gives the real images; enables
        clustering metrics (NMI, ARI, purity, Hungarian accuracy) and semantic consistency.
    num_codes: size of the code space (2**bits) for the usage histogram and entropy.
    Returns nested dicts of plain numbers (see docs/evaluation.md for every key).
    """
    if not isinstance(samples, Samples):
        samples = validate_samples(samples)
    images = samples.images
    if real.labels is None:
        raise UcgenError(f"{real.name}: evaluation needs a labeled real data set")
    if images.shape[1:] != real.images.shape[1:]:
        raise UcgenError(
            f"generated images are {images.shape[1:]} (H, W, C) but the real "
            f"{real.name} images are {real.images.shape[1:]}: load the data set at "
            "the samples' resolution"
        )
    features = features or reference
    started = time.perf_counter()
    fake_f = features.features(images)
    real_f = features.features(real.images)
    fake_pred = reference.predict(images)
    seconds_features = time.perf_counter() - started

    kid_value, kid_se = generation.kid(fake_f, real_f, subset_size=kid_subset_size, seed=seed)
    gen: dict[str, Any] = {
        "fd": generation.fd_features(fake_f, real_f),
        "kid": kid_value,
        "kid_se": kid_se,
        **generation.prdc(real_f, fake_f, k=prdc_k, max_samples=prdc_max, seed=seed),
    }
    report: dict[str, Any] = {
        "features": {"name": features.name, "dim": int(fake_f.shape[1]), "note": FD_NOTE},
        "reference": {"name": reference.name, "test_accuracy": reference.accuracy},
        "data": {"name": real.name, "images": len(real), "fingerprint": real.fingerprint},
        "samples": {"images": len(images), "with_code": int((samples.codes >= 0).sum())},
        "generation": gen,
        "predicted_class_usage": semantic.code_usage(fake_pred, reference.spec.num_classes),
    }
    if samples.has_codes:
        codes = samples.codes
        control = semantic.control_accuracy(codes, fake_pred)
        report["codes"] = semantic.code_usage(codes, num_codes)
        report["control"] = {
            "mean": control["mean"],
            "weighted": control["weighted"],
            "per_code": control["per_code"],
        }
        report["fd_per_code"] = generation.fd_per_code(
            fake_f, codes, fake_pred, real_f, real.labels
        )
        if report["fd_per_code"]:
            rows = report["fd_per_code"]
            report["generation"]["fd_per_code_mean"] = float(np.mean([r["fd"] for r in rows]))
    if real_codes is not None:
        real_codes = np.asarray(real_codes)
        if real_codes.shape != (len(real),):
            raise UcgenError(f"real_codes must have shape ({len(real)},), got {real_codes.shape}")
        report["clustering"] = {
            **semantic.clustering_scores(real_codes, real.labels),
            "usage": semantic.code_usage(real_codes, num_codes),
        }
        if samples.has_codes:
            report["consistency"] = semantic.semantic_consistency(
                samples.codes, fake_pred, real_codes, real.labels
            )
    report["seconds"] = {
        "features": round(seconds_features, 2),
        "total": round(time.perf_counter() - started, 2),
    }
    return report


def report_to_json(report: dict[str, Any]) -> str:
    """Strict JSON of a report: NaN (a metric with nothing to measure) becomes null."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, float) and not math.isfinite(x):
            return None
        return x

    return json.dumps(clean(report), indent=2, allow_nan=False) + "\n"


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of the headline numbers of an `evaluate_samples` report."""
    lines = [
        f"data           {report['data']['name']} ({report['data']['images']} real images)",
        f"samples        {report['samples']['images']} "
        f"({report['samples']['with_code']} with a code)",
        f"features       {report['features']['name']}",
        f"reference      test accuracy {report['reference']['test_accuracy']:.4f}",
    ]
    g = report["generation"]
    lines += [
        f"FD             {g['fd']:.4f}",
        f"KID            {g['kid']:.5f} +- {g['kid_se']:.5f}",
        f"precision      {g['precision']:.4f}",
        f"recall         {g['recall']:.4f}",
        f"density        {g['density']:.4f}",
        f"coverage       {g['coverage']:.4f}",
    ]
    if "fd_per_code_mean" in g:
        lines.append(f"FD per code    {g['fd_per_code_mean']:.4f} (mean over codes)")
    if "control" in report:
        c, u = report["control"], report["codes"]
        lines += [
            f"control acc.   {c['mean']:.4f} (mean over codes), {c['weighted']:.4f} (weighted)",
            f"codes used     {u['used']}/{u['num_codes']}, entropy {u['entropy_bits']:.3f} "
            f"bits, max share {u['max_share']:.3f}",
        ]
    if "clustering" in report:
        k = report["clustering"]
        lines.append(
            f"clustering     NMI {k['nmi']:.4f}  ARI {k['ari']:.4f}  purity "
            f"{k['purity']:.4f}  Hungarian acc. {k['hungarian_accuracy']:.4f}"
        )
    if "consistency" in report:
        s = report["consistency"]
        lines.append(f"consistency    {s['value']:.4f} over {s['codes']} codes")
    lines.append(f"note           {report['features']['note']}")
    return "\n".join(lines)
