"""evaluate_samples plumbing with a stand-in reference network (no training needed)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from ucgen.data import ImageDataset
from ucgen.errors import UcgenError
from ucgen.evaluation import Samples, evaluate_samples, format_report, report_to_json


class MeanBrightness:
    """Classifies 4x4 grey images by brightness band; features = pixel values."""

    name = "stand-in"
    accuracy = 1.0
    spec = SimpleNamespace(num_classes=3)

    def features(self, images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return (images.reshape(len(images), -1).mean(1) // 86).astype(np.int64)


def make(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = labels[:, None, None, None] * 86 + 40
    return np.clip(base + rng.integers(-20, 20, (len(labels), 4, 4, 1)), 0, 255).astype(np.uint8)


def test_report_has_every_section_and_sensible_values():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 60)
    real = ImageDataset(make(labels, rng), labels, "bands")
    codes = np.repeat([5, 6, 7], 60)  # code 5 -> class 0, 6 -> 1, 7 -> 2
    fake = Samples(make(labels, rng), codes)
    real_codes = np.where(labels == 2, 6, labels + 5)  # the encoder merges classes 1 and 2
    report = evaluate_samples(fake, real, MeanBrightness(), real_codes=real_codes, num_codes=8)

    assert report["features"]["name"] == "stand-in"
    assert "NOT comparable" in report["features"]["note"]
    assert report["control"]["mean"] == 1.0
    assert report["codes"]["used"] == 3 and len(report["codes"]["counts"]) == 8
    assert [r["target_class"] for r in report["fd_per_code"]] == [0, 1, 2]
    assert report["clustering"]["purity"] == pytest.approx(2 / 3)
    assert report["clustering"]["hungarian_accuracy"] == pytest.approx(2 / 3)
    # code 6 generates class 1 but means class 1 or 2 on real data (tie -> 1): consistent;
    # code 7 never occurs on real data, so only codes 5 and 6 are compared.
    assert report["consistency"]["codes"] == 2 and report["consistency"]["value"] == 1.0
    assert report["generation"]["precision"] > 0.9 and report["generation"]["recall"] > 0.9
    json.loads(report_to_json(report))
    assert "control acc." in format_report(report)


def test_mismatched_shapes_and_real_codes_are_refused():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], 20)
    real = ImageDataset(make(labels, rng), labels, "bands")
    with pytest.raises(UcgenError, match="load the data set at the samples' resolution"):
        evaluate_samples(np.zeros((40, 8, 8, 1), np.uint8), real, MeanBrightness())
    with pytest.raises(UcgenError, match="real_codes must have shape"):
        evaluate_samples(make(labels, rng), real, MeanBrightness(), real_codes=np.zeros(3, int))


def test_report_json_is_strict():
    text = report_to_json({"consistency": {"value": float("nan"), "per_code": {3: [1.0]}}})
    assert json.loads(text) == {"consistency": {"value": None, "per_code": {"3": [1.0]}}}
