"""Speed options for training, applied in one place to every stage (`train_stage` and the driver).

The first three options change how fast a step runs, not what it computes:

- `channels_last`: NHWC weights, hence NHWC activations (the layout oneDNN and tensor-core
  convolutions prefer); results equal NCHW up to float rounding.
- `compile`: `torch.compile` of each trained network's forward, in place (`nn.Module.compile`),
  so the module keeps its parameters, buffers and state-dict keys: checkpoints hold the same
  names with or without compile (no `_orig_mod.` prefix), EMA copies and gradient all-reduce
  see the very same parameter tensors, and a checkpoint written compiled loads uncompiled.
  Results equal eager up to float rounding (fused kernels sum in another order).
- `threads`: torch's intra-op CPU threads for this process (0 keeps torch's default, "auto"
  takes the cores that other work leaves idle when the process starts, `auto_threads`).

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
  exponent range). CPUs with avx512_bf16 multiply bf16 matrices several times faster than
  fp32. GroupNorm's bf16 NHWC CPU kernel is far slower than its NCHW one, so with bf16 on a
  CPU, `channels_last` leaves networks that hold a GroupNorm in NCHW (`_nhwc_pays`); the others
  (stage 1's encoder and discriminator) gain from NHWC (bench/bench_training_results.md).
  Sampling has its own key
  (`sample.precision`, `ucgen.diffusion.pipeline.generate`).

Which networks a stage trains is its `networks()`; EMA copies are not compiled (they run only
for previews and saving, where compile time would not pay back).
"""

from __future__ import annotations

import os
import time
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


def auto_threads() -> int:
    """The cores that other work leaves idle now, shared among this machine's ranks; >= 1.

    Why not always all cores: on a shared CPU, threads that wait at barriers for a core another
    job holds train far slower than one thread, while on an idle machine more threads are faster
    (bench/bench_training_results.md). The count is fixed at start; later load is not followed.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    idle = (cores or 1) - round(busy_cores())
    ranks = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, idle // max(1, ranks))


def busy_cores(seconds: float = 0.3) -> float:
    """How many cores other processes keep busy: measured over `seconds` from /proc/stat where
    there is one (the load average lags by a minute: a job that just ended still counts),
    else the 1-minute load average."""
    try:
        before = _cpu_times()
        time.sleep(seconds)
        after = _cpu_times()
    except OSError:
        return os.getloadavg()[0]
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])  # idle and iowait
    cores = os.cpu_count() or 1
    return cores * (total - idle) / total if total > 0 else 0.0


def _cpu_times() -> list[int]:
    with open("/proc/stat") as f:
        return [int(v) for v in f.readline().split()[1:9]]


def set_threads(threads: int | str) -> None:
    """torch intra-op threads for this process: a count, 0 for torch's default (one per core),
    or "auto" (`auto_threads`)."""
    count = auto_threads() if threads == "auto" else int(threads)
    if count > 0:
        torch.set_num_threads(count)


def apply_speed(networks: Iterable[nn.Module], settings: SpeedSettings) -> None:
    """Put `networks` in the memory format and compiled state of `settings`, in place.

    Call before the first step (optimiser state is created lazily in the parameters' layout)
    and before loading a checkpoint into them, which copies into whatever layout they have.
    """
    for net in networks:
        nhwc = settings.channels_last and _nhwc_pays(net, settings.precision)
        net.to(memory_format=torch.channels_last if nhwc else torch.contiguous_format)
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


def _nhwc_pays(net: nn.Module, precision: Precision) -> bool:
    """False for a CPU network holding a GroupNorm under bf16 (see the module docstring)."""
    on_cpu = all(p.device.type == "cpu" for p in net.parameters())
    has_group_norm = any(isinstance(m, nn.GroupNorm) for m in net.modules())
    return not (precision == "bf16" and on_cpu and has_group_norm)
