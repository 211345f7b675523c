"""Comparing two float32 computations that differ only in the order of their sums (a memory
layout, compiled kernels, a batch split over processes), by what a user relies on.

Tolerance from the arithmetic: float32's unit roundoff is u = 2**-24 (6e-8), and a sum of n
terms taken in another order moves by at most about n * u of the terms' magnitudes (Higham,
"Accuracy and Stability of Numerical Algorithms", section 4.2). The test networks' longest sums
are convolutions over 3 x 3 x 32 = 288 terms, composed over about ten layers forward and back:
10 * 288 * u = 2e-4. `RTOL` leaves room above that for the cancellation of a loss's logarithm.

What is compared: one step's losses and gradients (norm-wise over each network, since a single
gradient entry that is zero by structure has no relative error to speak of), and the losses of
a few steps. Never the weights after Adam steps: Adam's first updates move each weight by about
the learning rate whatever its gradient's size, so a rounding difference in a near-zero gradient
becomes a difference of the learning rate in the weight, on some CPUs and not others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

RTOL = 1e-3


def assert_losses_close(a: Mapping[str, float], b: Mapping[str, float], keys: Sequence[str]):
    """Each named loss of two runs agrees to RTOL relative to its size."""
    for key in keys:
        assert abs(a[key] - b[key]) <= RTOL * max(abs(a[key]), abs(b[key]), 1e-12), (
            key,
            a[key],
            b[key],
        )


def flat_gradient(net: torch.nn.Module) -> torch.Tensor:
    """Every parameter's gradient as one vector (a parameter without one counts as zeros)."""
    return torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
            for p in net.parameters()
        ]
    )


def assert_gradients_close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """Two flat gradients agree norm-wise: |a - b| <= RTOL * |b|, and neither is zero."""
    scale = b.norm().item()
    assert scale > 0, f"{what}: no gradient"
    error = (a - b).norm().item()
    assert error <= RTOL * scale, f"{what}: relative gradient error {error / scale:.2e}"
