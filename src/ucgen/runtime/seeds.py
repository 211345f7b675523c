"""Per-image random streams: image i of a call seeded `seed` draws from a generator of its own,
so it is the same whatever the batch size, the batch it falls in or the number of processes
(EDM's per-image seeds)."""

from __future__ import annotations

import numpy as np
import torch


def image_generator(seed: int, index: int, *stream: int) -> torch.Generator:
    """A CPU generator for image `index` of a call seeded `seed`. numpy's SeedSequence mixes
    the pair (so (0, 1) and (1, 0) differ); `stream` numbers keep independent draws of one
    image apart (its noise, a GAN's code magnitudes)."""
    mixed = np.random.SeedSequence([seed, index, *stream]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(mixed[0]) << 32 | int(mixed[1]))
