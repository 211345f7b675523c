"""Fine-control metrics that a traversal which changes nothing cannot pass.

Class retention alone rewards a generator that ignores the fine vector (its strips keep their
class because they do not change). The metrics here measure, on reference-network features:

- fine effect: the distance between the two ends of a -span..+span traversal over the mean
  distance between two random samples of the same code (0: the direction moves nothing;
  1: it moves the image as far as the whole within-code variation);
- monotonicity: Spearman correlation between step index and position along the strip's
  first-to-last feature axis (1: every step moves further the same way; a strip that does not
  move scores 0);
- realism at the ends: FD of images whose direction is pushed to +-span, over the FD of the
  same conditions unmoved (same noise, same count: the ratio isolates the push);
- condition reconstruction: a real test image regenerated from its own code and fine vector,
  ranked among the real test images of its code by feature distance to the regenerated one
  (mean percentile; 50 % means the fine vector carries nothing of the image);
- on data with known factors (procedural shapes): a linear probe from fine coefficients to each
  factor on held-out images, and which factor each direction's traversal moves, read from the
  generated images by a nearest-neighbour factor reader fitted on the real training images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

from ucgen.evaluation import generation, semantic
from ucgen.models.condition import Condition

TRAVERSAL_CODES = 4  # the most frequent codes of the real test images
TRAVERSAL_DIRECTIONS = 3  # the top directions of each code's basis
TRAVERSAL_LENGTH = 7
TRAVERSAL_SPAN = 2.0  # standard deviations either side
SPREAD_SAMPLES = 16  # same-code samples whose mean pairwise distance is the code's spread
END_SAMPLES = 200  # conditions pushed to the ends for the realism ratio
RECONSTRUCTION_IMAGES = 100  # test images regenerated from their own condition
CANDIDATES = 100  # real same-code candidates (the true image among them)
MIN_CANDIDATES = 10  # codes with fewer test images are not ranked


class FineModel(Protocol):
    """What the metrics need of a trained model (`TrainedModel` implements it)."""

    def conditions(self, n: int, seed: int = 0, code: int | None = None) -> Condition | None: ...

    def render(self, condition: Condition | None, n: int, seed: int = 0) -> np.ndarray: ...

    def traverse(
        self, code: int, direction: int, length: int = 8, seed: int = 0, span: float = 2.0
    ) -> tuple[np.ndarray, Condition]: ...

    def encode(self, images: np.ndarray) -> Condition: ...


class Scorer(Protocol):
    """The reference network: features (N, F) and predicted classes (N,) of uint8 images."""

    def features(self, images: np.ndarray) -> np.ndarray: ...

    def predict(self, images: np.ndarray) -> np.ndarray: ...


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean L2 distance over all pairs of rows of (N, F), N >= 2."""
    f = np.asarray(features, np.float64)
    d = np.linalg.norm(f[:, None] - f[None], axis=-1)
    n = len(f)
    return float(d.sum() / (n * (n - 1)))


def fine_effect(strip_features: np.ndarray, spread: float) -> float:
    """Distance between a strip's ends (T, F) over the code's spread (mean same-code pair
    distance); 0 when the spread is 0."""
    f = np.asarray(strip_features, np.float64)
    ends = float(np.linalg.norm(f[-1] - f[0]))
    return ends / spread if spread > 0 else 0.0


def monotonicity(strip_features: np.ndarray) -> float:
    """Spearman correlation between step index and projection on the first-to-last axis of a
    strip (T, F); 0 for a strip whose ends coincide or whose steps do not move."""
    f = np.asarray(strip_features, np.float64)
    axis = f[-1] - f[0]
    if not np.linalg.norm(axis) > 0:
        return 0.0
    position = f @ axis
    if np.ptp(position) == 0:
        return 0.0
    rho = spearmanr(np.arange(len(f)), position).statistic
    return float(rho) if np.isfinite(rho) else 0.0


def reconstruction_percentiles(
    generated: np.ndarray,
    true_index: np.ndarray,
    candidates: Sequence[np.ndarray],
) -> np.ndarray:
    """For each regenerated image i (features generated[i]), the share (in %) of its other
    candidates (features candidates[i], (M, F), the true image at row true_index[i]) that lie
    farther from it than the true image does; ties count half."""
    out = []
    for g, t, cand in zip(generated, true_index, candidates, strict=True):
        d = np.linalg.norm(np.asarray(cand, np.float64) - g, axis=1)
        others = np.delete(d, t)
        out.append(100.0 * ((others > d[t]).mean() + 0.5 * (others == d[t]).mean()))
    return np.asarray(out)


def traversal_metrics(
    model: FineModel,
    scorer: Scorer,
    codes: Sequence[int],
    directions: int,
    seed: int = 0,
    length: int = TRAVERSAL_LENGTH,
    span: float = TRAVERSAL_SPAN,
) -> tuple[dict[str, Any], np.ndarray]:
    """Fine effect, monotonicity and class retention of one strip per (code, direction).

    Returns the report and the strips (codes, directions, T, H, W, C) uint8."""
    effect, mono = np.zeros((len(codes), directions)), np.zeros((len(codes), directions))
    strips, spreads, feats = [], [], []
    for ci, code in enumerate(codes):
        cond = model.conditions(SPREAD_SAMPLES, seed + 1000 + code, code)
        own = model.render(cond, SPREAD_SAMPLES, seed=seed + 1000 + code)
        spreads.append(mean_pairwise_distance(scorer.features(own)))
        row = []
        for k in range(directions):
            images, _ = model.traverse(code, k, length=length, seed=seed, span=span)
            f = scorer.features(images)
            effect[ci, k] = fine_effect(f, spreads[-1])
            mono[ci, k] = monotonicity(f)
            row.append(images)
            feats.append(f)
        strips.append(np.stack(row))
    strips_arr = np.stack(strips)
    classes = scorer.predict(strips_arr.reshape(-1, *strips_arr.shape[3:]))
    retention = semantic.class_retention(classes.reshape(-1, length))
    report = {
        "codes": [int(c) for c in codes],
        "length": length,
        "span": span,
        "strips": len(codes) * directions,
        "class_retention": retention,
        "feature_change": semantic.feature_change(np.stack(feats)),
        "code_spread": spreads,
        "fine_effect": {
            "mean": float(effect.mean()),
            "per_direction": effect.mean(0).tolist(),
            "min_direction": float(effect.mean(0).min()),
            "per_strip": effect.tolist(),
        },
        "monotonicity": {
            "mean": float(mono.mean()),
            "per_direction": mono.mean(0).tolist(),
            "min_direction": float(mono.mean(0).min()),
            "per_strip": mono.tolist(),
        },
    }
    return report, strips_arr


def pushed_to_ends(
    condition: Condition,
    spread: Callable[[int], np.ndarray],
    directions: int,
    span: float = TRAVERSAL_SPAN,
) -> Condition:
    """A copy of `condition` whose row i has direction i % directions set to +span standard
    deviations (even i // directions) or -span (odd): the ends of the traversals."""
    fine = condition.fine.clone()  # type: ignore[union-attr]
    for i in range(len(fine)):
        k = i % directions
        sign = 1.0 if (i // directions) % 2 == 0 else -1.0
        std = float(spread(int(condition.code[i]))[k])  # type: ignore[index]
        fine[i, k] = sign * span * std
    return Condition(condition.coarse, fine, condition.code)


def ends_realism(
    model: FineModel,
    scorer: Scorer,
    real_features: np.ndarray,
    directions: int,
    seed: int = 0,
    n: int = END_SAMPLES,
) -> dict[str, Any]:
    """FD (reference features, against the real split) of n images pushed to the traversal
    ends, over the FD of the same n conditions and noise unmoved."""
    cond = model.conditions(n, seed + 2000)
    stds: dict[int, np.ndarray] = {}

    def spread(code: int) -> np.ndarray:
        if code not in stds:
            draw = model.conditions(1000, seed + 1, code)
            stds[code] = draw.fine.std(0).numpy()  # type: ignore[union-attr]
        return stds[code]

    ends = pushed_to_ends(cond, spread, directions)  # type: ignore[arg-type]
    base_f = scorer.features(model.render(cond, n, seed=seed + 2000))
    ends_f = scorer.features(model.render(ends, n, seed=seed + 2000))
    fd_base = generation.fd_features(base_f, real_features)
    fd_ends = generation.fd_features(ends_f, real_features)
    return {"images": n, "fd_ends": fd_ends, "fd_unmoved": fd_base, "ratio": fd_ends / fd_base}


def condition_reconstruction(
    model: FineModel,
    scorer: Scorer,
    real_images: np.ndarray,
    seed: int = 0,
    n: int = RECONSTRUCTION_IMAGES,
    candidates: int = CANDIDATES,
) -> dict[str, Any]:
    """Regenerate up to n real images from their own condition (code + fine vector) and rank
    each among up to `candidates` real images of its code (itself included)."""
    own = model.encode(real_images)
    codes = own.code.numpy()  # type: ignore[union-attr]
    real_f = scorer.features(real_images)
    members = {c: np.flatnonzero(codes == c)[:candidates] for c in np.unique(codes)}
    chosen = [
        i
        for i in range(len(real_images))
        if len(members[codes[i]]) >= MIN_CANDIDATES and i in set(members[codes[i]].tolist())
    ][:n]
    if not chosen:
        return {"images": 0, "mean": float("nan"), "mean_percentile": float("nan")}
    index = torch.as_tensor(chosen)
    generated = model.render(own.slice(index), len(chosen), seed=seed + 3000)
    gen_f = scorer.features(generated)
    cand = [real_f[members[codes[i]]] for i in chosen]
    true_index = np.array([int(np.flatnonzero(members[codes[i]] == i)[0]) for i in chosen])
    pct = reconstruction_percentiles(gen_f, true_index, cand)
    return {
        "images": len(chosen),
        "candidates_mean": float(np.mean([len(c) for c in cand])),
        "mean": float(pct.mean()),
        "mean_percentile": float(pct.mean()),
        "median_percentile": float(np.median(pct)),
    }


def image_moments(images: np.ndarray) -> np.ndarray:
    """Pose and colour summaries of objects on a dark ground: (N, H, W, C) uint8 -> (N, 11):
    centroid (x, y), sqrt of mass, mean colour of the object (C <= 3 values, zero-padded to
    3), second central moments (xx, yy, xy) and fourth-order angular moments (cos 4a, sin 4a
    weighted by r^4, which see the rotation of shapes symmetric under quarter turns), with
    each pixel weighted by its brightest channel."""
    x = images.astype(np.float64) / 255.0
    n, h, w, c = x.shape
    weight = x.max(axis=3)
    mass = weight.sum(axis=(1, 2)) + 1e-8
    ys, xs = np.meshgrid((np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w, indexing="ij")
    cx = (weight * xs).sum(axis=(1, 2)) / mass
    cy = (weight * ys).sum(axis=(1, 2)) / mass
    dx, dy = xs[None] - cx[:, None, None], ys[None] - cy[:, None, None]
    colour = np.zeros((n, 3))
    colour[:, :c] = (x * weight[..., None]).sum(axis=(1, 2)) / mass[:, None]

    def moment(f: np.ndarray) -> np.ndarray:
        return (weight * f).sum(axis=(1, 2)) / mass

    angle, r2 = np.arctan2(dy, dx), dx**2 + dy**2
    return np.stack(
        [
            cx,
            cy,
            np.sqrt(mass / (h * w)),
            *colour.T,
            moment(dx * dx),
            moment(dy * dy),
            moment(dx * dy),
            moment(r2**2 * np.cos(4 * angle)) * 100,
            moment(r2**2 * np.sin(4 * angle)) * 100,
        ],
        axis=1,
    )


def factor_targets(values: np.ndarray, period: float | None = None) -> np.ndarray:
    """A factor as regression targets: its values (N, 1), or for a factor that wraps around
    every `period`, the point (cos, sin) of its angle on the unit circle (N, 2), so that values
    either side of the wrap are near, as their images are (a linear map of a circle's points
    to the angle itself explains at most 61 % of a uniform angle's variance)."""
    v = np.asarray(values, np.float64)
    if period is None:
        return v[:, None]
    angle = 2 * np.pi * v / period
    return np.c_[np.cos(angle), np.sin(angle)]


def from_targets(targets: np.ndarray, period: float | None = None) -> np.ndarray:
    """Factor values (N,) back from `factor_targets`-shaped estimates (in [0, period) for a
    circular factor)."""
    if period is None:
        return targets[:, 0]
    return np.mod(np.arctan2(targets[:, 1], targets[:, 0]) / (2 * np.pi), 1.0) * period


class FactorReader:
    """Reads known factors off images: per factor, a gradient-boosted regression from
    `image_moments` to its `factor_targets`, fitted on real images with their factors, judged
    on held-out real images (`score`) before it reads generated ones. One OpenMP thread: with
    more, the boosting's threads collide with the torch threads of the evaluation on a small
    machine."""

    def __init__(
        self,
        images: np.ndarray,
        factors: dict[str, np.ndarray],
        periods: dict[str, float] | None = None,
        seed: int = 0,
    ) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.names = sorted(factors)
        self.periods = dict(periods or {})
        m = image_moments(images)
        with threadpool_limits(1):
            self.models = {
                k: [
                    HistGradientBoostingRegressor(random_state=seed).fit(m, column)
                    for column in factor_targets(factors[k], self.periods.get(k)).T
                ]
                for k in self.names
            }

    def read(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Factor estimates {name: (N,)} for uint8 images (N, H, W, C)."""
        m = image_moments(images)
        with threadpool_limits(1):
            return {
                k: from_targets(
                    np.stack([r.predict(m) for r in self.models[k]], 1), self.periods.get(k)
                )
                for k in self.names
            }

    def score(self, images: np.ndarray, factors: dict[str, np.ndarray]) -> dict[str, float]:
        """R² of the reader on real images with known factors (on the circle where one wraps)."""
        est = self.read(images)
        return {
            k: r2(
                factor_targets(factors[k], self.periods.get(k)),
                factor_targets(est[k], self.periods.get(k)),
            )
            for k in self.names
        }


def r2(truth: np.ndarray, estimate: np.ndarray) -> float:
    """Coefficient of determination of an estimate (can be negative); for (N, k) targets, of
    all k columns together (1 - their summed squared error over their summed variance)."""
    t, e = np.asarray(truth, np.float64), np.asarray(estimate, np.float64)
    t, e = t.reshape(len(t), -1), e.reshape(len(e), -1)
    sst = float(((t - t.mean(axis=0)) ** 2).sum())
    return 1.0 - float(((t - e) ** 2).sum()) / sst if sst > 0 else 0.0


def factor_probe(
    train_fine: np.ndarray,
    train_codes: np.ndarray,
    train_factors: dict[str, np.ndarray],
    test_fine: np.ndarray,
    test_codes: np.ndarray,
    test_factors: dict[str, np.ndarray],
    periods: dict[str, float] | None = None,
    ridge: float = 1e-3,
) -> dict[str, float]:
    """Held-out R² of a linear probe from fine coefficients to each factor's `factor_targets`.

    Coefficients live in each code's own basis, so the probe is fitted per code (ridge, with an
    intercept) on the training images and scored on the test images, pooled over codes: R² =
    1 - SSE / SST over all test images. Test images of a code with fewer training images than
    coefficients + 2 are predicted by the training mean."""
    periods = periods or {}
    out = {}
    for name in sorted(train_factors):
        y_train = factor_targets(train_factors[name], periods.get(name))
        y_test = factor_targets(test_factors[name], periods.get(name))
        pred = np.tile(y_train.mean(axis=0), (len(y_test), 1))
        for code in np.unique(test_codes):
            tr, te = train_codes == code, test_codes == code
            if tr.sum() < train_fine.shape[1] + 2:
                continue
            a = np.c_[np.ones(tr.sum()), train_fine[tr]]
            w = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ y_train[tr])
            pred[te] = np.c_[np.ones(te.sum()), test_fine[te]] @ w
        out[name] = r2(y_test, pred)
    return out


def direction_factors(
    strips: np.ndarray, reader: FactorReader, scorer: Scorer, shape_class: np.ndarray
) -> list[dict[str, Any]]:
    """Per direction, which factor its strips move: (codes, directions, T, H, W, C) strips;
    shape_class (codes,) the class each code's strips should keep. For each direction, the
    factor with the largest mean |Spearman| between step and read factor, that |Spearman|, and
    the share of strip images the reference network puts in the strip's class. A circular
    factor's readings are unwrapped along each strip first, so a strip that turns a hue past
    red reads as moving steadily."""
    n_codes, n_dir, t = strips.shape[:3]
    rows = []
    for k in range(n_dir):
        images = strips[:, k].reshape(-1, *strips.shape[3:])
        est = reader.read(images)
        keep = scorer.predict(images).reshape(n_codes, t) == np.asarray(shape_class)[:, None]
        rho = {}
        for name, values in est.items():
            v = values.reshape(n_codes, t)
            if name in reader.periods:
                v = np.unwrap(v, period=reader.periods[name], axis=1)
            per = [
                0.0 if np.ptp(s) == 0 else abs(float(spearmanr(np.arange(t), s).statistic))
                for s in v
            ]
            rho[name] = float(np.mean(per))
        best = max(rho, key=lambda name: rho[name])
        rows.append(
            {
                "direction": k,
                "factor": best,
                "abs_spearman": rho[best],
                "abs_spearman_all": rho,
                "shape_kept": float(keep.mean()),
            }
        )
    return rows


@dataclass(frozen=True)
class KnownFactors:
    """The known factors of a data set's train and test images (`ImageDataset.factors`), and
    the periods of those that wrap around (`ImageDataset.factor_periods`)."""

    train_images: np.ndarray
    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    periods: dict[str, float]


def evaluate_fine(
    model: FineModel,
    scorer: Scorer,
    real_images: np.ndarray,
    real_labels: np.ndarray,
    real_codes: np.ndarray,
    fine_dim: int,
    seed: int = 0,
    known: KnownFactors | None = None,
) -> dict[str, Any]:
    """Every fine-control metric of a model on a labeled real (test) split: real_images
    (N, H, W, C) uint8, their labels and the model's codes of them (traversals use the most
    frequent codes). known: for data with known factors, adds the factor probe and the factor
    each direction moves."""
    counts = np.bincount(real_codes)
    codes = [int(c) for c in np.argsort(-counts, kind="stable")[:TRAVERSAL_CODES] if counts[c]]
    directions = min(TRAVERSAL_DIRECTIONS, fine_dim)
    report, strips = traversal_metrics(model, scorer, codes, directions, seed)
    report["ends"] = ends_realism(model, scorer, scorer.features(real_images), directions, seed)
    report["reconstruction"] = condition_reconstruction(model, scorer, real_images, seed)
    if known is not None:
        train_cond = model.encode(known.train_images)
        test_cond = model.encode(real_images)
        reader = FactorReader(known.train_images, known.train, known.periods)
        majority = [int(np.bincount(real_labels[real_codes == c]).argmax()) for c in codes]
        report["factors"] = {
            "probe_r2": factor_probe(
                train_cond.fine.numpy(),  # type: ignore[union-attr]
                train_cond.code.numpy(),  # type: ignore[union-attr]
                known.train,
                test_cond.fine.numpy(),  # type: ignore[union-attr]
                test_cond.code.numpy(),  # type: ignore[union-attr]
                known.test,
                known.periods,
            ),
            "circular": sorted(known.periods),
            "reader_r2": reader.score(real_images, known.test),
            "directions": direction_factors(strips, reader, scorer, np.array(majority)),
        }
    return report


def format_fine(report: dict[str, Any]) -> list[str]:
    """Printed lines of an `evaluate_fine` report."""
    e, m = report["fine_effect"], report["monotonicity"]
    lines = [
        f"fine control   {report['strips']} traversals of codes {report['codes']}: class "
        f"retention {report['class_retention']['value']:.4f}",
        "fine effect    "
        + " ".join(f"{v:.3f}" for v in e["per_direction"])
        + f" (per direction; min {e['min_direction']:.3f})",
        "monotonicity   "
        + " ".join(f"{v:.3f}" for v in m["per_direction"])
        + f" (per direction; min {m['min_direction']:.3f})",
        f"ends' FD       {report['ends']['ratio']:.3f} x the unmoved samples' "
        f"({report['ends']['fd_ends']:.3f} / {report['ends']['fd_unmoved']:.3f})",
        f"reconstruction {report['reconstruction']['mean_percentile']:.1f} % mean percentile "
        f"over {report['reconstruction']['images']} test images (50 %: fine carries nothing)",
    ]
    if "factors" in report:
        f = report["factors"]
        lines.append(
            "factor probe   R² "
            + "  ".join(f"{k} {v:.3f}" for k, v in f["probe_r2"].items())
            + (f" ({', '.join(f['circular'])} on the circle)" if f.get("circular") else "")
        )
        for row in f["directions"]:
            lines.append(
                f"direction {row['direction']}    moves {row['factor']} (|Spearman| "
                f"{row['abs_spearman']:.3f}), shape kept {row['shape_kept']:.3f}"
            )
    return lines
