"""Exponential moving averages of a network's weights, the copies that sample and are saved."""

from __future__ import annotations

import torch


def ema_decay(step: int, target: float) -> float:
    """min(target, (1 + step) / (10 + step)): a warm-up, so that short runs and early previews
    are not dominated by the random initial weights."""
    return min(target, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, live: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * live, parameter by parameter. Buffers (spectral
    norm's power-iteration vectors) are copied: the EMA copy runs in eval mode and never
    iterates, so it takes the live ones, which fit its averaged weights."""
    ema_params = list(ema.parameters())
    if ema_params:
        torch._foreach_lerp_(ema_params, list(live.parameters()), 1 - decay)
    for b, c in zip(live.buffers(), ema.buffers(), strict=True):
        c.copy_(b)
