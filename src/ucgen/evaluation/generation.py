"""Generation metrics between feature sets of generated and real images.

All functions take features as float arrays (N, F) from one feature network (reference CNN,
Inception, or a user's); the numbers are only comparable between runs that used the same
network, and FD on the reference CNN's features is NOT comparable with published Inception FIDs.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from ucgen.errors import UcgenError


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, F) -> mean (F,) and unbiased covariance (F, F), in float64. Needs N >= 2."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise UcgenError(f"Gaussian statistics need (N >= 2, F) features, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2):

        |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1^1/2 sigma2 sigma1^1/2)^1/2)

    The trace term is computed from eigenvalues of the symmetric PSD matrix
    sigma1^1/2 sigma2 sigma1^1/2 (eigh, negatives from round-off clipped to 0), which stays real
    and stable for singular covariances (fewer samples than dimensions), unlike a general sqrtm.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = _sym(sigma1), _sym(sigma2)
    w1, v1 = np.linalg.eigh(s1)
    root1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    inner = np.linalg.eigvalsh(_sym(root1 @ s2 @ root1))
    trace_sqrt = np.sqrt(np.clip(inner, 0, None)).sum()
    diff = mu1 - mu2
    fd = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt
    return float(max(fd, 0.0))


def _sym(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return (m + m.T) / 2


def fd_features(a: np.ndarray, b: np.ndarray) -> float:
    """FD between two feature sets (N, F) and (M, F)."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def kid(
    a: np.ndarray,
    b: np.ndarray,
    subset_size: int = 1000,
    min_blocks: int = 10,
    repeats: int = 10,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the polynomial
    kernel k(x, y) = (x.y / F + 1)^3, averaged over subsets. Returns (KID, standard error).

    Subsets of size m = min(subset_size, min(N, M) // min_blocks) are disjoint blocks of a
    seeded permutation of each set, so the B = min(N, M) // m block estimates of one
    permutation are independent: their std / sqrt(B) is an honest standard error of that
    permutation's mean. The estimate averages `repeats` permutations (which only lowers its
    variance), and the reported error is the mean over permutations of std / sqrt(B): slightly
    conservative. KID is unbiased, so it can be (slightly) negative for equal distributions.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n = min(len(a), len(b))
    m = min(subset_size, n // min_blocks) if n >= 2 * min_blocks else n // 2
    if m < 2:
        raise UcgenError(f"KID needs at least 4 images per set, got {len(a)} and {len(b)}")
    blocks = n // m
    rng = np.random.default_rng(seed)
    estimates, errors = [], []
    for _ in range(repeats):
        pa, pb = rng.permutation(len(a)), rng.permutation(len(b))
        values = [
            _mmd2_unbiased(a[pa[i * m : (i + 1) * m]], b[pb[i * m : (i + 1) * m]])
            for i in range(blocks)
        ]
        estimates.extend(values)
        errors.append(np.std(values, ddof=1) / np.sqrt(blocks) if blocks > 1 else np.nan)
    return float(np.mean(estimates)), float(np.mean(errors))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m = len(x)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kxy.mean()
    )


def prdc(
    real: np.ndarray, fake: np.ndarray, k: int = 5, max_samples: int = 10000, seed: int = 0
) -> dict[str, float]:
    """Precision, recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020)
    with k-nearest-neighbour balls, computed by the authors' `prdc` package.

    Each set is subsampled (seeded) to at most `max_samples` points: the package builds full
    pairwise distance matrices, O(N^2) memory. Precision: share of fakes inside some real
    k-NN ball; recall: share of reals inside some fake k-NN ball; density can exceed 1.
    """
    try:
        from prdc import compute_prdc
    except ImportError:
        raise UcgenError(
            "precision/recall/density/coverage need the 'prdc' package: "
            "install with pip install 'ucgen[prdc]' (or pip install prdc)"
        ) from None
    if min(len(real), len(fake)) <= k:
        raise UcgenError(
            f"precision/recall with k={k} need more than {k} images per set, "
            f"got {len(real)} real and {len(fake)} generated"
        )
    rng = np.random.default_rng(seed)
    real = _subsample(np.asarray(real, np.float32), max_samples, rng)
    fake = _subsample(np.asarray(fake, np.float32), max_samples, rng)
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints the set sizes
        out = compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    return {key: float(value) for key, value in out.items()}


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), n, replace=False))]


def fd_per_code(
    fake: np.ndarray,
    codes: np.ndarray,
    fake_classes: np.ndarray,
    real: np.ndarray,
    real_labels: np.ndarray,
    min_count: int = 2,
) -> list[dict[str, float | int]]:
    """FD per code: for each code c, the FD between the generated images of code c and the real
    test images of c's *target class*, the class the reference classifier most often assigns to
    code c's generated images (true labels on the real side). It asks: do the images of a code
    look like real images of the class that code shows? Codes with fewer than `min_count`
    images are skipped; FD is biased upward for small counts, so read it with `count`.

    fake: (N, F) features, codes: (N,) int, fake_classes: (N,) predicted classes,
    real: (M, F) features, real_labels: (M,) true classes.
    Returns one dict per code: code, count, target_class, real_count, fd.
    """
    rows = []
    for code in np.unique(codes):
        mask = codes == code
        if mask.sum() < min_count:
            continue
        target = int(np.bincount(fake_classes[mask]).argmax())
        real_mask = real_labels == target
        if real_mask.sum() < 2:
            continue
        rows.append(
            {
                "code": int(code),
                "count": int(mask.sum()),
                "target_class": target,
                "real_count": int(real_mask.sum()),
                "fd": fd_features(fake[mask], real[real_mask]),
            }
        )
    return rows
