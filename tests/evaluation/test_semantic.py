"""Clustering and control metrics against sklearn and brute force."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ucgen.errors import UcgenError
from ucgen.evaluation import semantic


def brute_force_accuracy(codes: np.ndarray, labels: np.ndarray) -> float:
    """Best injective code->class (or class->code) map, by trying every one."""
    cs, ls = np.unique(codes), np.unique(labels)
    best = 0
    if len(cs) <= len(ls):
        for perm in itertools.permutations(ls, len(cs)):
            m = dict(zip(cs, perm, strict=True))
            best = max(best, sum(m[c] == y for c, y in zip(codes, labels, strict=True)))
    else:
        for perm in itertools.permutations(cs, len(ls)):
            m = dict(zip(ls, perm, strict=True))
            best = max(best, sum(m[y] == c for c, y in zip(codes, labels, strict=True)))
    return best / len(codes)


@pytest.mark.parametrize(("n_codes", "n_classes"), [(3, 3), (5, 3), (2, 4), (4, 4)])
def test_hungarian_accuracy_matches_brute_force(n_codes, n_classes):
    rng = np.random.default_rng(n_codes * 10 + n_classes)
    for _ in range(5):
        codes = rng.integers(0, n_codes, 60)
        labels = rng.integers(0, n_classes, 60)
        assert semantic.hungarian_accuracy(codes, labels) == pytest.approx(
            brute_force_accuracy(codes, labels)
        )


def test_nmi_and_ari_equal_sklearn():
    rng = np.random.default_rng(0)
    codes, labels = rng.integers(0, 16, 500), rng.integers(0, 10, 500)
    labels[:250] = codes[:250] % 10  # some agreement
    assert semantic.nmi(codes, labels) == normalized_mutual_info_score(labels, codes)
    assert semantic.ari(codes, labels) == adjusted_rand_score(labels, codes)


def test_purity_and_perfect_relabelled_clustering():
    labels = np.array([0, 0, 1, 1, 2, 2])
    codes = np.array([7, 7, 3, 3, 0, 0])  # a renaming of the classes
    assert semantic.purity(codes, labels) == 1.0
    assert semantic.hungarian_accuracy(codes, labels) == 1.0
    assert semantic.purity(np.array([0, 0, 0, 0, 1, 1]), labels) == pytest.approx(4 / 6)


def test_code_usage_counts_entropy_and_max_share():
    usage = semantic.code_usage(np.array([0, 0, 1, 3]), num_codes=4)
    assert usage["counts"] == [2, 1, 0, 1]
    assert usage["used"] == 3
    assert usage["entropy_bits"] == pytest.approx(1.5)
    assert usage["normalized_entropy"] == pytest.approx(0.75)
    assert usage["max_share"] == 0.5


def test_control_accuracy_weighted_and_unweighted():
    codes = np.array([0, 0, 0, 0, 1, 1])
    predicted = np.array([2, 2, 2, 5, 4, 1])
    out = semantic.control_accuracy(codes, predicted)
    assert out["per_code"][0] == {"count": 4, "class": 2, "accuracy": 0.75}
    assert out["per_code"][1]["accuracy"] == 0.5
    assert out["mean"] == pytest.approx(0.625)
    assert out["weighted"] == pytest.approx(4 / 6)


def test_semantic_consistency_compares_generated_and_real_majorities():
    gen_codes = np.array([0, 0, 1, 1, 2])
    gen_pred = np.array([4, 4, 7, 7, 1])
    real_codes = np.array([0, 0, 1, 1, 1])
    real_labels = np.array([4, 4, 3, 3, 7])  # code 1 means class 3 on real data
    out = semantic.semantic_consistency(gen_codes, gen_pred, real_codes, real_labels)
    assert out["codes"] == 2  # code 2 has no real images
    assert out["value"] == 0.5
    assert out["per_code"][1] == {"generated_class": 7, "real_class": 3}


def test_bit_recovery_counts_matching_bits():
    given = np.array([0b0000, 0b1111, 0b1010])
    recovered = np.array([0b0001, 0b1111, 0b0101])
    assert semantic.bit_recovery(given, recovered, n_bits=4) == pytest.approx(1 - 5 / 12)
    with pytest.raises(UcgenError, match="4-bit"):
        semantic.bit_recovery(np.array([16]), np.array([0]), n_bits=4)


def test_class_retention_along_traversals():
    strips = np.array([[3, 3, 3, 5], [1, 2, 1, 1]])
    out = semantic.class_retention(strips)
    assert out["value"] == pytest.approx(4 / 6)
    assert out["per_step"] == [1.0, 0.5, 1.0, 0.5]


def test_feature_change_per_step():
    feats = np.zeros((2, 3, 2))
    feats[:, 1, 0] = 3.0
    feats[:, 2, 0] = 3.0
    feats[:, 2, 1] = 4.0
    assert semantic.feature_change(feats) == [3.0, 4.0]


def test_negative_codes_are_rejected():
    with pytest.raises(UcgenError, match="negative"):
        semantic.purity(np.array([-1, 0]), np.array([0, 0]))


def test_code_usage_without_a_code_space_counts_the_codes_that_occur():
    """Codes 100..115 of another tool are 16 codes, not 116: ids say nothing of how many."""
    usage = semantic.code_usage(np.arange(100, 116).repeat(2))
    assert usage["num_codes"] == 16 and usage["used"] == 16
    assert usage["normalized_entropy"] == pytest.approx(1.0)
    assert usage["counts"][100:] == [2] * 16  # still indexed by code id
    assert semantic.code_usage(np.array([0, 0, 1, 3]), num_codes=8)["num_codes"] == 8
    with pytest.raises(UcgenError, match="below num_codes = 4"):
        semantic.code_usage(np.array([0, 4]), num_codes=4)


def test_linear_probe_reads_classes_a_representation_carries_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 600)
    noise = rng.standard_normal((600, 16))
    carrying = noise + 3 * np.eye(16)[labels]
    acc = semantic.linear_probe(carrying[:400], labels[:400], carrying[400:], labels[400:])
    chance = semantic.linear_probe(noise[:400], labels[:400], noise[400:], labels[400:])
    assert acc >= 0.9
    assert chance < 0.4
