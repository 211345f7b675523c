"""Bit-codes: the coarse semantics of CoFi-UCGen as signs of the coarse latent.

b = sign(z_c) in {-1, +1}^K (sign(0) counts as +1), stored as the integer id
sum_i [b_i > 0] 2**i, so bit i of the id is coordinate i of the code.
"""

from __future__ import annotations

import numpy as np
import torch


def signs(z_c: torch.Tensor) -> torch.Tensor:
    """(B, K) float -> (B, K) float in {-1, +1}; zero maps to +1 so every z has a code."""
    return torch.where(z_c >= 0, 1.0, -1.0).to(z_c.dtype)


def bit_ids(bits: torch.Tensor) -> torch.Tensor:
    """(B, K) signs (or any reals: only their sign counts) -> (B,) int64 ids in [0, 2**K)."""
    k = bits.shape[1]
    weights = 2 ** torch.arange(k, device=bits.device, dtype=torch.int64)
    return ((bits >= 0).to(torch.int64) * weights).sum(dim=1)


def id_bits(ids: torch.Tensor | int, k: int) -> torch.Tensor:
    """(B,) int ids (or one int) -> (B, K) float signs in {-1, +1}; inverse of `bit_ids`."""
    ids = torch.as_tensor(ids, dtype=torch.int64).reshape(-1)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= 2**k):
        raise ValueError(
            f"bit-code ids must be in [0, {2**k}) for {k} bits, got "
            f"{int(ids.min())}..{int(ids.max())}"
        )
    mask = 2 ** torch.arange(k, device=ids.device, dtype=torch.int64)
    return torch.where((ids[:, None] & mask) > 0, 1.0, -1.0)


def with_code(z_c: torch.Tensor, code: torch.Tensor | int) -> torch.Tensor:
    """z_c (B, K) with its signs set to `code` (one id or (B,) ids), magnitudes |z_c| kept."""
    bits = id_bits(code, z_c.shape[1]).to(z_c.device, z_c.dtype)
    return z_c.abs() * bits


def flip_bit(z_c: torch.Tensor, i: int) -> torch.Tensor:
    """z_c (B, K) with coordinate i negated: the same sample with bit i of its code flipped."""
    if not 0 <= i < z_c.shape[1]:
        raise ValueError(f"bit index must be in [0, {z_c.shape[1]}), got {i}")
    out = z_c.clone()
    out[:, i] = -out[:, i]
    # A zero coordinate has code +1 both ways; nudge it so the flip really changes the code.
    out[:, i] = torch.where(out[:, i] == 0, -torch.finfo(z_c.dtype).tiny, out[:, i])
    return out


def neighbour_order(adjacency: np.ndarray, bits: int, seed: int, restarts: int = 16) -> np.ndarray:
    """Give 2**bits clusters their bit-code ids so that clusters that border each other get
    codes few bits apart: order[c] is cluster c's id.

    Why: each bit is learned as its own binary partition of the images, the union of the
    clusters whose id has that bit set. With arbitrary ids a bit is a union of unrelated
    kinds, a long, tangled boundary; with neighbouring clusters one bit apart, each bit is a
    compact region, and an encoder learns it far better (bench/stage1_results.md).
    Minimises sum_ab adjacency[a, b] * hamming(order[a], order[b]) by pairwise swaps from
    `restarts` seeded random orders; adjacency is (2**bits, 2**bits), symmetric, >= 0.
    """
    n = 2**bits
    adjacency = np.asarray(adjacency, dtype=np.float64)
    if adjacency.shape != (n, n):
        raise ValueError(f"adjacency must be ({n}, {n}) for {bits} bits, got {adjacency.shape}")
    adjacency = (adjacency + adjacency.T) / 2
    np.fill_diagonal(adjacency, 0.0)
    ids = np.arange(n)
    hamming = np.array([[bin(a ^ b).count("1") for b in ids] for a in ids], dtype=np.float64)
    rng = np.random.default_rng(seed)
    best, best_cost = ids.copy(), np.inf
    for _ in range(restarts):
        order = rng.permutation(n)
        improved = True
        while improved:
            improved = False
            for a in range(n):
                for b in range(a + 1, n):
                    # half the change of the cost if clusters a and b swap ids; the sum's
                    # terms for c = a and c = b are not changes, the last term cancels them
                    ha, hb = hamming[order[a], order], hamming[order[b], order]
                    gain = ((adjacency[a] - adjacency[b]) * (hb - ha)).sum()
                    gain += 2 * adjacency[a, b] * hamming[order[a], order[b]]
                    if gain < -1e-9:
                        order[a], order[b] = order[b], order[a]
                        improved = True
        cost = (adjacency * hamming[order][:, order]).sum()
        if cost < best_cost - 1e-9:
            best, best_cost = order.copy(), cost
    return best
