"""Data-parallel training over `torch.distributed`, launched by `torchrun`.

Each process (rank) trains on its own shard of every global batch; before each optimiser step
the stage calls `sync_gradients`, which averages gradients over ranks with one all-reduce per
parameter group, so every rank applies the same update and the weights stay identical. This is
what `DistributedDataParallel` does; the hand-written all-reduce is used because GAN stages run
several forward/backward passes through shared networks per step, which DDP's wrapper does not
support cleanly. Backend: NCCL on CUDA, gloo on CPU. Outside `torchrun` everything is a no-op.

Rules (documented in the README): `batch_size` in the config is the *global* batch, split evenly
over ranks (it must divide); the learning rate is for that global batch, so changing the number
of processes changes nothing else.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import torch
import torch.distributed as dist

from ucgen.errors import ConfigError

T = TypeVar("T")


def init_from_env(device: torch.device) -> None:
    """Join the process group when launched by torchrun (RANK/WORLD_SIZE set)."""
    if "RANK" not in os.environ or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Only rank 0 writes files and logs."""
    return rank() == 0


def local_device(requested: str) -> torch.device:
    """The device for this process: `auto` picks this rank's GPU if any, else the CPU."""
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(
            "device cuda was asked for (train.device or --device) but no CUDA device is available"
        )
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    return torch.device("cuda", local)


def shard(index: torch.Tensor, batch_size: int) -> torch.Tensor:
    """This rank's part of a global batch of indices."""
    world = world_size()
    if batch_size % world:
        raise ConfigError(
            f"the global batch size {batch_size} must be divisible by the "
            f"number of processes ({world})"
        )
    return index[rank() :: world]


def sync_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Average gradients over ranks (call between backward and the optimiser step)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """Average a dict of scalars over ranks (a NaN on any rank makes the mean NaN everywhere,
    so every rank stops together)."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return values
    keys = sorted(values)
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist(), strict=True))


def broadcast_from_main(state: object) -> None:
    """Copy rank 0's tensors of a (nested) state dict into every rank's, in place (as DDP does
    with a module's weights when it is built): networks built from rank-dependent random
    numbers start the same everywhere."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return
    for _, leaf in _leaves(state):
        if isinstance(leaf, torch.Tensor):
            dist.broadcast(leaf, src=0)


def rank_checksums(state: object) -> list[str]:
    """A checksum of a (nested) state dict on every rank, gathered on all ranks: after a
    synchronised step they must all be equal."""
    digest = hashlib.sha256()
    for key, leaf in _leaves(state):
        digest.update(key.encode())
        if isinstance(leaf, torch.Tensor):
            digest.update(leaf.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy())
        else:
            digest.update(repr(leaf).encode())
    mine = digest.hexdigest()[:16]
    if not dist.is_initialized():
        return [mine]
    every: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(every, mine)
    return [str(c) for c in every]


def _leaves(state: object, path: str = "") -> Iterator[tuple[str, object]]:
    """(path, leaf) of every leaf of a nested state dict, in the same order on every rank
    (dict keys sorted)."""
    if isinstance(state, dict):
        for key in sorted(state, key=str):
            yield from _leaves(state[key], f"{path}/{key}")
    elif isinstance(state, list | tuple):
        for i, item in enumerate(state):
            yield from _leaves(item, f"{path}/{i}")
    else:
        yield path, state


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def finish() -> None:
    """In a process group: leave it together with the other ranks, then end this process.

    Ending here, without the interpreter's teardown, is deliberate: gloo's worker threads can
    abort that teardown (SIGABRT, "terminate called without an active exception"; about 1 run
    in 10 of tests/training/test_distributed.py, with or without the barrier). Everything is
    saved by then. Outside a process group it does nothing.
    """
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def fit_once(marker: Path, fit: Callable[[], None], load: Callable[[], T]) -> T:
    """What `load()` gives once rank 0 has run `fit()`, which saves a result whose last file
    written is `marker`; where `marker` exists already (a resumed run) nothing is fitted again.
    Every rank loads the saved bytes, so all use the same result and rank 0's is its saved
    form. Checks that can fail belong before the call, on every rank: a rank that raised
    alone would leave the others waiting."""
    barrier()  # every rank looks before rank 0 may write, so all take one branch
    if not Path(marker).is_file():
        if is_main():
            fit()
        barrier()
    return load()
