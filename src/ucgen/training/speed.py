"""Speed options for training, applied in one place to every stage (`train_stage` and the driver).

The first three options change how fast a step runs, not what it computes:

- `channels_last`: NHWC weights, hence NHWC activations (the layout oneDNN and tensor-core
  convolutions prefer); results equal NCHW up to float rounding.
- `compile`: `torch.compile` of each trained network's forward, in place (`nn.Module.compile`),
  so the module keeps its parameters, buffers and state-dict keys: checkpoints hold the same
  names with or without compile (no `_orig_mod.` prefix), EMA copies and gradient all-reduce
  see the very same parameter tensors, and a checkpoint written compiled loads uncompiled.
  Results equal eager up to float rounding (fused kernels sum in another order).
- `threads`: torch's intra-op CPU threads for this process (0 keeps torch's default).

The fourth trades float precision for speed (mixed precision):

- `precision="bf16"`: the loop runs each `train_step` under `torch.autocast(dtype=bfloat16)`
  (`precision_scope`), so convolutions, linear layers and attention of the forward pass (and
  their backward, which follows the forward's dtypes) compute in bfloat16; elementwise ops
  and GroupNorm take their inputs' dtype. The trained networks' outputs are cast back to
  float32 (a forward hook, `apply_speed`), so the losses, their reductions and the gradient
  entering the backward pass are float32; the EDM loss weighting and preconditioning are
  float32 either way (`EDM.denoise` casts F's output). Weights, gradients, optimiser state and
  EMA copies stay float32 (autocast casts weights per op, it never stores bf16 copies), so
  checkpoints are the same either way and no loss scaling is needed (bf16 has float32's
  exponent range). On this CPU (AMD EPYC, avx512_bf16) bf16 matmuls run at 4-6x the fp32 peak;
  bf16 convolutions pay only in NCHW (GroupNorm on bf16 NHWC has a slow CPU kernel), so
  combine it with `channels_last=False`. Sampling has its own key (`sample.precision`,
  `ucgen.sampling.pipeline.generate`).

Which networks a stage trains is its `networks()`; EMA copies are not compiled (they run only
for previews and saving, where compile time would not pay back).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ucgen.config.schema import CompileMode, Precision


@dataclass(frozen=True)
class SpeedSettings:
    """How the loop runs a stage's networks; see the module docstring."""

    channels_last: bool = False
    compile: CompileMode = "off"
    precision: Precision = "fp32"


def precision_scope(precision: Precision, device: torch.device) -> AbstractContextManager:
    """Autocast to bfloat16 on `device` for "bf16", a no-op for "fp32" (see the module doc)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


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
        if settings.precision == "bf16":
            net.register_forward_hook(_outputs_to_float32)
        if settings.compile != "off":
            net.compile(mode=settings.compile)


def _outputs_to_float32(module: nn.Module, inputs: Any, output: Any) -> Any:
    """Forward hook: bfloat16 outputs (a tensor or a tuple of them) back to float32."""
    if isinstance(output, tuple):
        return tuple(_outputs_to_float32(module, inputs, o) for o in output)
    if isinstance(output, torch.Tensor) and output.dtype == torch.bfloat16:
        return output.float()
    return output
