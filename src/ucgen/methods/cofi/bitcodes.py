"""Bit-codes: the coarse semantics of CoFi-UCGen as signs of the coarse latent.

b = sign(z_c) in {-1, +1}^K (sign(0) counts as +1), stored as the integer id
sum_i [b_i > 0] 2**i, so bit i of the id is coordinate i of the code.
"""

from __future__ import annotations

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
