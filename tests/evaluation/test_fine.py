"""Fine-control metrics: a generator that uses its fine vector passes them, one that ignores
it fails them (where class retention alone passes both), and on shapes fine coefficients that
carry a factor predict it while unrelated ones do not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ucgen.data.sources.shapes import make_shapes
from ucgen.evaluation import fine
from ucgen.models.condition import Condition

SIDE, CODES, DIM = 8, 2, 3


def _patterns() -> tuple[np.ndarray, np.ndarray]:
    """Code patterns (CODES, 8, 8) and fine patterns (DIM, 8, 8), all in [-1, 1]."""
    u = np.linspace(-1, 1, SIDE)
    xx, yy = np.meshgrid(u, u)
    codes = np.stack([np.sign(xx), -np.sign(xx)])
    finer = np.stack([yy, xx * yy, np.cos(np.pi * xx)])
    return codes, finer


class PixelModel:
    """A pixel generator of 8x8 grey images: code pattern + fine coefficients times fixed
    patterns + per-image noise from (seed, i); `use_fine=False` ignores the fine vector."""

    def __init__(self, use_fine: bool) -> None:
        self.use_fine = use_fine
        self.code_p, self.fine_p = _patterns()

    def conditions(self, n: int, seed: int = 0, code: int | None = None) -> Condition:
        g = torch.Generator().manual_seed(seed)
        codes = (
            torch.randint(0, CODES, (n,), generator=g)
            if code is None
            else torch.full((n,), code, dtype=torch.int64)
        )
        coarse = torch.nn.functional.one_hot(codes, CODES).float()
        return Condition(coarse, torch.randn(n, DIM, generator=g), codes)

    def render(self, condition: Condition, n: int, seed: int = 0) -> np.ndarray:
        out = []
        for i in range(n):
            rng = np.random.default_rng([seed, i])
            x = 0.35 * self.code_p[int(condition.code[i])] + 0.05 * rng.standard_normal(
                (SIDE, SIDE)
            )
            if self.use_fine:
                x = x + 0.2 * np.tensordot(condition.fine[i].numpy(), self.fine_p, 1)
            out.append(np.clip(np.round(127.5 + 127.5 * x), 0, 255))
        return np.stack(out).astype(np.uint8)[..., None]

    def traverse(
        self, code: int, direction: int, length: int = 8, seed: int = 0, span: float = 2.0
    ) -> tuple[np.ndarray, Condition]:
        base = self.conditions(1, seed, code)
        cond = Condition.cat([base] * length)
        cond.fine = cond.fine.clone()
        cond.fine[:, direction] = torch.linspace(-span, span, length)
        strip = [self.render(cond.slice(slice(i, i + 1)), 1, seed) for i in range(length)]
        return np.concatenate(strip), cond

    def encode(self, images: np.ndarray) -> Condition:
        """The exact inverse of the fine-using generator (noise aside)."""
        x = (images[..., 0].astype(np.float64) - 127.5) / 127.5
        codes = np.argmax(np.einsum("nhw,chw->nc", x, self.code_p), 1)
        rest = x - 0.35 * self.code_p[codes]
        a = self.fine_p.reshape(DIM, -1).T
        f = np.linalg.lstsq(a, rest.reshape(len(x), -1).T, rcond=None)[0].T / 0.2
        codes_t = torch.as_tensor(codes)
        coarse = torch.nn.functional.one_hot(codes_t, CODES).float()
        return Condition(coarse, torch.as_tensor(f, dtype=torch.float32), codes_t)


class PixelScorer:
    """Pixels as features; the class is the code pattern the image correlates with most."""

    def __init__(self) -> None:
        self.code_p, _ = _patterns()

    def features(self, images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64) / 255

    def predict(self, images: np.ndarray) -> np.ndarray:
        x = images[..., 0].astype(np.float64) - 127.5
        return np.argmax(np.einsum("nhw,chw->nc", x, self.code_p), 1)


def _evaluate(use_fine: bool) -> dict:
    real_model = PixelModel(use_fine=True)  # real images vary in fine whatever the model does
    real_cond = real_model.conditions(120, seed=99)
    real = real_model.render(real_cond, 120, seed=99)
    labels = real_cond.code.numpy()
    model = PixelModel(use_fine)
    codes = model.encode(real).code.numpy()
    return fine.evaluate_fine(model, PixelScorer(), real, labels, codes, DIM, seed=0)


def test_a_generator_that_uses_fine_passes_and_one_that_ignores_it_fails():
    good, broken = _evaluate(True), _evaluate(False)
    # class retention cannot tell them apart: both strips keep their class
    assert good["class_retention"]["value"] == 1.0
    assert broken["class_retention"]["value"] == 1.0
    assert good["fine_effect"]["min_direction"] >= 0.5
    assert broken["fine_effect"]["min_direction"] < 0.05
    assert good["monotonicity"]["min_direction"] >= 0.9
    assert broken["monotonicity"]["min_direction"] == 0.0
    assert good["reconstruction"]["mean_percentile"] >= 90
    assert broken["reconstruction"]["mean_percentile"] < 70
    assert good["reconstruction"]["images"] == 100
    # pushing a used direction to +-2 sigma leaves the images' distribution; an ignored one
    # changes nothing, so its ends are exactly the unmoved samples
    assert good["ends"]["ratio"] > 1.0
    assert broken["ends"]["ratio"] == pytest.approx(1.0)


def test_monotonicity_and_effect_of_simple_strips():
    line = np.linspace(0, 1, 7)[:, None] * np.array([[1.0, 2.0]])
    assert fine.monotonicity(line) == pytest.approx(1.0)
    assert fine.monotonicity(np.ones((7, 2))) == 0.0
    back_and_forth = np.array([[0.0], [1.0], [0.0], [1.0], [0.0], [1.0], [0.1]])
    assert fine.monotonicity(back_and_forth) < 0.5
    assert fine.fine_effect(line, spread=np.sqrt(5)) == pytest.approx(1.0)
    assert fine.reconstruction_percentiles(
        np.zeros((1, 1)), np.array([0]), [np.array([[0.1], [1.0], [2.0], [3.0]])]
    ) == pytest.approx([100.0])


def _shapes_fine(data, carry: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((len(data), 4))
    if not carry:
        return noise
    f = data.factors
    return np.c_[f["x"], f["y"], f["size"], np.zeros(len(data))] + 0.005 * noise


def test_factor_probe_finds_the_factors_fine_carries_and_not_others():
    train, test = make_shapes(800, 16, seed=0), make_shapes(300, 16, seed=1)
    carried = fine.factor_probe(
        _shapes_fine(train, True, 0),
        train.labels,
        train.factors,
        _shapes_fine(test, True, 1),
        test.labels,
        test.factors,
    )
    broken = fine.factor_probe(
        _shapes_fine(train, False, 0),
        train.labels,
        train.factors,
        _shapes_fine(test, False, 1),
        test.labels,
        test.factors,
    )
    for name in ("x", "y", "size"):
        assert carried[name] >= 0.9, (name, carried)
        assert broken[name] < 0.1, (name, broken)
    assert carried["hue"] < 0.1 and carried["rotation"] < 0.1


def _hue_fine(data, seed: int) -> np.ndarray:
    """Fine vectors that carry the hue as the point of its angle on a circle, as a network
    that draws the colour must, plus a little noise."""
    angle = 2 * np.pi * data.factors["hue"]
    noise = np.random.default_rng(seed).standard_normal((len(data), 2))
    return np.c_[np.cos(angle), np.sin(angle)] + 0.01 * noise


def test_factor_probe_reads_a_wrapping_factor_on_the_circle():
    train, test = make_shapes(800, 16, seed=0), make_shapes(300, 16, seed=1)
    args = (_hue_fine(train, 0), train.labels, train.factors)
    test_args = (_hue_fine(test, 1), test.labels, test.factors)
    on_circle = fine.factor_probe(*args, *test_args, train.factor_periods)
    as_a_line = fine.factor_probe(*args, *test_args)
    noise = np.random.default_rng(2).standard_normal
    broken = fine.factor_probe(
        noise((800, 2)),
        train.labels,
        train.factors,
        noise((300, 2)),
        test.labels,
        test.factors,
        train.factor_periods,
    )
    assert on_circle["hue"] >= 0.95, on_circle
    # a line through the circle's points explains at most 61 % of a uniform angle's variance
    assert as_a_line["hue"] < 0.65, as_a_line
    assert broken["hue"] < 0.05 and on_circle["x"] < 0.05


def test_factor_reader_and_direction_factor_on_shapes():
    from ucgen.data.sources.shapes import SATURATION, VALUE, _hsv_to_rgb, shape_masks

    train, test = make_shapes(2000, 16, seed=0), make_shapes(300, 16, seed=1)
    reader = fine.FactorReader(train.images, train.factors, train.factor_periods)
    scores = reader.score(test.images, test.factors)
    assert min(scores["x"], scores["y"], scores["size"], scores["hue"]) >= 0.9, scores
    # strips of a square whose x moves steadily (direction 0), that do not move (1), or whose
    # hue turns steadily through red, from 0.8 past 1 (= 0) to 0.2 (2)
    t = 7
    x = np.r_[np.linspace(0.1, 0.9, t), np.full(2 * t, 0.5)]
    factors = {"x": x, "y": np.full(3 * t, 0.5), "size": np.full(3 * t, 0.3)}
    factors["rotation"] = np.zeros(3 * t)
    hue = np.r_[np.full(2 * t, 0.3), np.mod(np.linspace(0.8, 1.2, t), 1.0)]
    masks = shape_masks(np.ones(3 * t, int), factors, 16)
    rgb = _hsv_to_rgb(hue, SATURATION, VALUE)
    images = np.round(masks[..., None] * rgb[:, None, None] * 255).astype(np.uint8)
    strips = images.reshape(1, 3, t, 16, 16, 3)

    class Square:
        def predict(self, images: np.ndarray) -> np.ndarray:
            return np.ones(len(images), int)

    rows = fine.direction_factors(strips, reader, Square(), np.array([1]))
    assert rows[0]["factor"] == "x" and rows[0]["abs_spearman"] >= 0.9
    assert rows[1]["abs_spearman"] < 0.5
    assert rows[2]["factor"] == "hue" and rows[2]["abs_spearman"] >= 0.9, rows[2]
    assert rows[0]["shape_kept"] == 1.0
