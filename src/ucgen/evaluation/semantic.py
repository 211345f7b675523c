"""Semantic metrics: how well discrete codes match classes, and how well codes control them.

Codes are integer ids (bit-code ids, cluster ids; -1 means "no code" and is rejected here),
classes are true labels or the reference classifier's predictions. Nothing assumes that the
number of codes equals the number of classes.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ucgen.errors import UcgenError


def _ids(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer):
        raise UcgenError(f"{name} must be a 1-d integer array, got {x.dtype} {x.shape}")
    if len(x) and x.min() < 0:
        raise UcgenError(f"{name} holds negative ids (-1 = no code); drop those first")
    return x.astype(np.int64)


def _pair(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, labels = _ids(codes, "codes"), _ids(labels, "labels")
    if len(codes) != len(labels) or len(codes) == 0:
        raise UcgenError(f"{len(codes)} codes for {len(labels)} labels; need equal, non-zero")
    return codes, labels


def contingency(codes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(num_codes, num_classes) counts, rows/columns indexed by id (max id + 1)."""
    codes, labels = _pair(codes, labels)
    table = np.zeros((codes.max() + 1, labels.max() + 1), np.int64)
    np.add.at(table, (codes, labels), 1)
    return table


def nmi(codes: np.ndarray, labels: np.ndarray) -> float:
    """Normalized mutual information (arithmetic normalisation, scikit-learn's default)."""
    codes, labels = _pair(codes, labels)
    return float(normalized_mutual_info_score(labels, codes))


def ari(codes: np.ndarray, labels: np.ndarray) -> float:
    """Adjusted Rand index (scikit-learn)."""
    codes, labels = _pair(codes, labels)
    return float(adjusted_rand_score(labels, codes))


def purity(codes: np.ndarray, labels: np.ndarray) -> float:
    """Share of images whose class is their code's most common class. Rises with more codes
    (one code per image gives 1), so read it next to NMI and Hungarian accuracy."""
    table = contingency(codes, labels)
    return float(table.max(1).sum() / table.sum())


def hungarian_accuracy(codes: np.ndarray, labels: np.ndarray) -> float:
    """Best one-to-one matching of codes to classes (scipy's linear_sum_assignment on the
    contingency table): share of images whose code is matched to their class. With more
    codes than classes the unmatched codes count as wrong; with fewer, unmatched classes do."""
    table = contingency(codes, labels)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def clustering_scores(codes: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """NMI, ARI, purity and Hungarian accuracy of codes against labels: how well a label-free
    clustering recovers the classes (labels are used only here, to measure)."""
    return {
        "nmi": nmi(codes, labels),
        "ari": ari(codes, labels),
        "purity": purity(codes, labels),
        "hungarian_accuracy": hungarian_accuracy(codes, labels),
    }


def code_usage(codes: np.ndarray, num_codes: int | None = None) -> dict[str, object]:
    """Histogram of codes and how evenly they are used.

    num_codes: the size of the code space (2**bits of a run, its number of classes); without
    it (samples of another tool) the code space is the codes that occur: their ids say
    nothing of how many there are (ids 100..115 are 16 codes, not 116).
    Returns num_codes (that size), counts (list, index = code id, length num_codes or max id
    + 1), used (codes with at least one image), entropy_bits (Shannon entropy of the usage),
    normalized_entropy (entropy / log2(num_codes): 1 = uniform over all codes) and max_share
    (largest code's share; near 1 means collapse onto one code).
    """
    codes = _ids(codes, "codes")
    if len(codes) == 0:
        raise UcgenError("code usage needs at least one code")
    if num_codes is not None and codes.max() >= num_codes:
        raise UcgenError(f"codes must be ids below num_codes = {num_codes}, got {codes.max()}")
    counts = np.bincount(codes, minlength=num_codes or 0)
    size = num_codes or int((counts > 0).sum())
    p = counts[counts > 0] / counts.sum()
    entropy = float(-(p * np.log2(p)).sum())
    return {
        "num_codes": size,
        "counts": counts.tolist(),
        "used": int((counts > 0).sum()),
        "entropy_bits": entropy,
        "normalized_entropy": entropy / np.log2(size) if size > 1 else 1.0,
        "max_share": float(counts.max() / counts.sum()),
    }


def control_accuracy(codes: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Control accuracy of generated images: for each code, the share of its images that the
    reference classifier puts in the code's majority predicted class.

    codes: (N,) code each image was generated with; predicted: (N,) classifier output.
    Returns per_code (code -> {count, class, accuracy}), mean (unweighted over codes: every
    code counts the same) and weighted (by image count = the purity of predictions by code).
    """
    codes, predicted = _pair(codes, predicted)
    per_code = {}
    for code in np.unique(codes):
        counts = np.bincount(predicted[codes == code])
        per_code[int(code)] = {
            "count": int(counts.sum()),
            "class": int(counts.argmax()),
            "accuracy": float(counts.max() / counts.sum()),
        }
    accs = np.array([v["accuracy"] for v in per_code.values()])
    weights = np.array([v["count"] for v in per_code.values()])
    return {
        "per_code": per_code,
        "mean": float(accs.mean()),
        "weighted": float((accs * weights).sum() / weights.sum()),
    }


def semantic_consistency(
    gen_codes: np.ndarray,
    gen_predicted: np.ndarray,
    real_codes: np.ndarray,
    real_labels: np.ndarray,
) -> dict[str, object]:
    """Does code c *generate* the class it *means* on real data? For each code present among
    both generated and real (encoded) images: the majority predicted class of its generated
    images vs the majority true class of the real test images the encoder gave that code.

    Returns value (share of those codes where the two agree), codes (how many were compared),
    and per_code (code -> {generated_class, real_class}).
    """
    gen_codes, gen_predicted = _pair(gen_codes, gen_predicted)
    real_codes, real_labels = _pair(real_codes, real_labels)
    per_code = {}
    for code in np.intersect1d(gen_codes, real_codes):
        per_code[int(code)] = {
            "generated_class": int(np.bincount(gen_predicted[gen_codes == code]).argmax()),
            "real_class": int(np.bincount(real_labels[real_codes == code]).argmax()),
        }
    agree = [v["generated_class"] == v["real_class"] for v in per_code.values()]
    return {
        "value": float(np.mean(agree)) if agree else float("nan"),
        "codes": len(agree),
        "per_code": per_code,
    }


def bit_recovery(codes_given: np.ndarray, codes_recovered: np.ndarray, n_bits: int) -> float:
    """Share of bits of the re-encoded bit-code E(G(b, .)) equal to the bits b it was generated
    with, over all images and the n_bits bits (0.5 = chance, 1 = perfect)."""
    given, recovered = _pair(codes_given, codes_recovered)
    if n_bits < 1 or max(given.max(), recovered.max()) >= 2**n_bits:
        raise UcgenError(f"codes must be ids of {n_bits}-bit codes (0 .. {2**n_bits - 1})")
    diff = given ^ recovered
    wrong = sum(int(((diff >> i) & 1).sum()) for i in range(n_bits))
    return 1.0 - wrong / (len(given) * n_bits)


def class_retention(classes: np.ndarray) -> dict[str, object]:
    """Class retention along fine-basis traversals: (S, T) predicted classes of S strips of T
    steps; the share of the steps after the first whose class equals the strip's first class.

    Returns value (over all strips and steps 1..T-1) and per_step (list of T values, the first
    being 1 by definition): how retention decays with distance travelled.
    """
    classes = np.asarray(classes)
    if classes.ndim != 2 or classes.shape[1] < 2:
        raise UcgenError(f"traversal classes must be (strips, steps >= 2), got {classes.shape}")
    same = classes == classes[:, :1]
    return {"value": float(same[:, 1:].mean()), "per_step": same.mean(0).tolist()}


def feature_change(features: np.ndarray) -> list[float]:
    """Mean L2 distance between consecutive steps of traversals: (S, T, F) -> T - 1 values;
    flat values mean the fine direction moves the image evenly."""
    features = np.asarray(features, np.float64)
    if features.ndim != 3 or features.shape[1] < 2:
        raise UcgenError(
            f"traversal features must be (strips, steps >= 2, F), got {features.shape}"
        )
    return np.linalg.norm(np.diff(features, axis=1), axis=2).mean(0).tolist()


def linear_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray
) -> float:
    """Test accuracy of a multinomial logistic regression on standardised features, fitted on
    (train_x (N, F), train_y (N,)): how linearly a representation separates the classes (the
    usual yardstick of self-supervised encoders). A fixed budget of 1000 L-BFGS iterations, so
    that every representation is probed alike: raw pixels of a whole split do not converge in
    it, and the warning saying so is not the user's to act on."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, test_x = np.asarray(train_x, np.float64), np.asarray(test_x, np.float64)
    if train_x.ndim != 2 or test_x.shape[1:] != train_x.shape[1:]:
        raise UcgenError(
            f"probe features must be (N, F) alike, got {train_x.shape} and {test_x.shape}"
        )
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(train_x, _ids(train_y, "labels"))
    return float((probe.predict(test_x) == _ids(test_y, "labels")).mean())
