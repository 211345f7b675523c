"""Speed options for training, applied in one place to every stage (`train_stage` and the driver).

The options change how fast a step runs, not what it computes:

- `channels_last`: NHWC weights, hence NHWC activations (the layout oneDNN and tensor-core
  convolutions prefer); results equal NCHW up to float rounding.
- `compile`: `torch.compile` of each trained network's forward, in place (`nn.Module.compile`),
  so the module keeps its parameters, buffers and state-dict keys: checkpoints hold the same
  names with or without compile (no `_orig_mod.` prefix), EMA copies and gradient all-reduce
  see the very same parameter tensors, and a checkpoint written compiled loads uncompiled.
  Results equal eager up to float rounding (fused kernels sum in another order).
- `threads`: torch's intra-op CPU threads for this process (0 keeps torch's default).

Which networks a stage trains is its `networks()`; EMA copies are not compiled (they run only
for previews and saving, where compile time would not pay back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ucgen.config.schema import CompileMode


@dataclass(frozen=True)
class SpeedSettings:
    """How the loop runs a stage's networks; see the module docstring."""

    channels_last: bool = False
    compile: CompileMode = "off"


def set_threads(threads: int) -> None:
    """torch intra-op threads for this process; 0 leaves torch's default (one per core)."""
    if threads > 0:
        torch.set_num_threads(threads)


def apply_speed(networks: Iterable[nn.Module], settings: SpeedSettings) -> None:
    """Put `networks` in the memory format and compiled state of `settings`, in place.

    Call before the first step (optimiser state is created lazily in the parameters' layout)
    and before loading a checkpoint into them, which copies into whatever layout they have.
    """
    layout = torch.channels_last if settings.channels_last else torch.contiguous_format
    for net in networks:
        net.to(memory_format=layout)
        if settings.compile != "off":
            net.compile(mode=settings.compile)
