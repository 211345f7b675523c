import numpy as np
import pytest
import torch
from scipy.stats import chi2_contingency, chisquare

from ucgen.methods.cofi.bitcodes import (
    bit_ids,
    flip_bit,
    id_bits,
    neighbour_order,
    signs,
    with_code,
)


def test_id_round_trip_all_codes():
    ids = torch.arange(2**5)
    bits = id_bits(ids, 5)
    assert set(bits.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(bit_ids(bits), ids)


def test_bit_i_is_coordinate_i():
    assert bit_ids(torch.tensor([[1.0, -1.0, -1.0], [-1.0, -1.0, 1.0]])).tolist() == [1, 4]


def test_zero_counts_as_positive():
    assert signs(torch.tensor([[0.0, -0.0, -1e-9]])).tolist() == [[1.0, 1.0, -1.0]]


def test_bad_ids_are_refused():
    with pytest.raises(ValueError, match="must be in"):
        id_bits(torch.tensor([8]), 3)


def test_with_code_keeps_magnitudes_and_flip_changes_one_bit():
    z = torch.randn(100, 4)
    coded = with_code(z, 11)
    assert (bit_ids(coded) == 11).all()
    assert torch.equal(coded.abs(), z.abs())
    flipped = flip_bit(z, 2)
    assert torch.equal(bit_ids(flipped) ^ bit_ids(z), torch.full((100,), 4))
    assert bit_ids(flip_bit(torch.zeros(1, 3), 0)).tolist() == [6]  # zeros are +1: id 7


def test_prior_bits_are_fair_coins_independent_of_magnitude():
    # Codes of N(0, I) are uniform over all 2**K ids, and independent of |z_c| (here: whether
    # |z_c,0| is above its median). Chi-square tests at a 1e-4 level; the seed makes it
    # deterministic, the level leaves a wide margin.
    gen = torch.Generator().manual_seed(0)
    k, n = 3, 40_000
    z = torch.randn(n, k, generator=gen)
    ids = bit_ids(signs(z)).numpy()
    counts = np.bincount(ids, minlength=2**k)
    assert chisquare(counts).pvalue > 1e-4
    assert abs(counts / n - 1 / 2**k).max() < 0.01
    big = (z[:, 0].abs() > z[:, 0].abs().median()).numpy().astype(int)
    table = np.array([np.bincount(ids[big == v], minlength=2**k) for v in (0, 1)])
    assert chi2_contingency(table).pvalue > 1e-4
    # The same test catches a biased sign rule (small negatives counted as +1).
    biased = bit_ids(torch.where(z > -0.1, 1.0, -1.0)).numpy()
    assert chisquare(np.bincount(biased, minlength=2**k)).pvalue < 1e-4


def hamming(a: int, b: int) -> int:
    return bin(int(a) ^ int(b)).count("1")


def ring(n: int, shuffle_seed: int) -> np.ndarray:
    """Adjacency of n clusters that border only their two ring neighbours, in shuffled order."""
    place = np.random.default_rng(shuffle_seed).permutation(n)
    adjacency = np.zeros((n, n))
    for i in range(n):
        a, b = place[i], place[(i + 1) % n]
        adjacency[a, b] = adjacency[b, a] = 1.0
    return adjacency


def test_neighbour_order_puts_bordering_clusters_one_bit_apart():
    # A ring of 8 clusters has a Gray-code cycle: every border can cost one bit.
    adjacency = ring(8, shuffle_seed=3)
    order = neighbour_order(adjacency, bits=3, seed=0)
    assert sorted(order.tolist()) == list(range(8))
    rows, cols = np.nonzero(adjacency)
    assert all(hamming(order[a], order[b]) == 1 for a, b in zip(rows, cols, strict=True))
    # the clusters' own numbering does not: some border costs 2 or 3 bits
    assert any(hamming(a, b) > 1 for a, b in zip(rows, cols, strict=True))


def test_neighbour_order_is_the_best_order_on_a_small_graph_and_deterministic():
    import itertools

    rng = np.random.default_rng(1)
    adjacency = rng.random((8, 8))
    adjacency = adjacency + adjacency.T
    table = np.array([[hamming(a, b) for b in range(8)] for a in range(8)])

    def cost(order):
        order = np.asarray(order)
        return (np.triu(adjacency, 1) * table[order][:, order]).sum()

    best = min(cost(p) for p in itertools.permutations(range(8)))
    order = neighbour_order(adjacency, bits=3, seed=0)
    assert cost(order) == pytest.approx(best)
    np.testing.assert_array_equal(order, neighbour_order(adjacency, bits=3, seed=0))


def test_neighbour_order_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match=r"adjacency must be \(16, 16\) for 4 bits"):
        neighbour_order(np.zeros((8, 8)), bits=4, seed=0)
