"""FD, KID and precision/recall against independent computations."""

import numpy as np
import pytest
import scipy.linalg

from ucgen.errors import UcgenError
from ucgen.evaluation.generation import (
    fd_features,
    fd_per_code,
    frechet_distance,
    gaussian_stats,
    kid,
    prdc,
)


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fd_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert fd_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fd_matches_closed_form_for_commuting_covariances():
    # Diagonal covariances: FD = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


def test_fd_matches_scipy_sqrtm_for_general_covariances():
    rng = np.random.default_rng(1)
    s1, s2 = random_spd(rng, 10), random_spd(rng, 10)
    mu1, mu2 = rng.normal(size=10), rng.normal(size=10)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_fd_from_large_samples_approaches_the_population_value():
    rng = np.random.default_rng(2)
    s1, s2 = random_spd(rng, 4), random_spd(rng, 4)
    mu1, mu2 = np.zeros(4), np.full(4, 0.5)
    a = rng.multivariate_normal(mu1, s1, size=200_000)
    b = rng.multivariate_normal(mu2, s2, size=200_000)
    assert fd_features(a, b) == pytest.approx(frechet_distance(mu1, s1, mu2, s2), rel=0.02)


def test_fd_stays_finite_with_fewer_samples_than_dimensions():
    rng = np.random.default_rng(3)
    value = fd_features(rng.normal(size=(5, 64)), rng.normal(size=(7, 64)))
    assert np.isfinite(value) and value > 0


def test_gaussian_stats_needs_two_samples():
    with pytest.raises(UcgenError, match="N >= 2"):
        gaussian_stats(np.zeros((1, 3)))


def test_kid_same_distribution_is_zero_within_error_and_different_is_positive():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    value, se = kid(a, b, subset_size=200)
    assert se > 0
    assert abs(value) < 4 * se
    shifted, se2 = kid(a, rng.normal(loc=0.5, size=(2000, 8)), subset_size=200)
    assert shifted > 10 * se2


def test_kid_matches_a_direct_unbiased_mmd():
    # One block holding every sample: the estimate is the plain unbiased MMD^2.
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(40, 3)), rng.normal(loc=0.3, size=(40, 3))
    k = lambda p, q: (p @ q / 3 + 1) ** 3  # noqa: E731
    n = len(x)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / n**2
    value, _ = kid(x, y, subset_size=40, min_blocks=1, repeats=1)
    assert value == pytest.approx(xx + yy - 2 * xy)


def test_precision_recall_of_a_set_with_itself_is_one():
    x = np.random.default_rng(6).normal(size=(300, 8))
    out = prdc(x, x, k=5)
    assert out["precision"] == pytest.approx(1.0)
    assert out["recall"] == pytest.approx(1.0)
    assert out["coverage"] == pytest.approx(1.0)


def test_precision_drops_for_samples_off_the_real_manifold():
    rng = np.random.default_rng(7)
    real = rng.normal(size=(300, 8))
    out = prdc(real, rng.normal(loc=5.0, size=(300, 8)), k=5)
    assert out["precision"] < 0.05 and out["coverage"] < 0.05


def test_fd_per_code_compares_each_code_with_its_target_class():
    rng = np.random.default_rng(8)
    real = np.concatenate([rng.normal(size=(200, 2)), rng.normal(loc=10, size=(200, 2))])
    labels = np.repeat([0, 1], 200)
    fake = np.concatenate([rng.normal(size=(100, 2)), rng.normal(loc=10, size=(100, 2))])
    codes = np.repeat([3, 5], 100)
    predicted = np.repeat([0, 1], 100)  # code 3 shows class 0, code 5 shows class 1
    rows = fd_per_code(fake, codes, predicted, real, labels)
    assert [(r["code"], r["target_class"], r["count"]) for r in rows] == [(3, 0, 100), (5, 1, 100)]
    assert all(r["fd"] < 0.5 for r in rows)
