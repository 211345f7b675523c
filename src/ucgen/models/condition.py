"""What steers a pixel generator: the condition of a batch, as every method produces it."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Condition:
    """What steers the pixel generator for a batch of B images.

    coarse: (B, Kc) float or None: bits in {-1, +1} (CoFi), one-hot class (label oracle),
            or any other global condition vector. Fixes the global layout.
    fine:   (B, D) float or None: fine-basis coefficients (CoFi); injected progressively.
    code:   (B,) int64 or None: the discrete id of `coarse` (bit-code id, class), -1 for none.
    """

    coarse: torch.Tensor | None = None
    fine: torch.Tensor | None = None
    code: torch.Tensor | None = None

    def __len__(self) -> int:
        for t in (self.coarse, self.fine, self.code):
            if t is not None:
                return len(t)
        return 0

    def to(self, device: torch.device | str) -> Condition:
        return Condition(
            *(None if t is None else t.to(device) for t in (self.coarse, self.fine, self.code))
        )

    def slice(self, index: slice | torch.Tensor) -> Condition:
        return Condition(
            *(None if t is None else t[index] for t in (self.coarse, self.fine, self.code))
        )

    @staticmethod
    def cat(parts: list[Condition]) -> Condition:
        def join(ts: list[torch.Tensor | None]) -> torch.Tensor | None:
            return None if ts[0] is None else torch.cat(ts)  # type: ignore[arg-type]

        return Condition(
            join([p.coarse for p in parts]),
            join([p.fine for p in parts]),
            join([p.code for p in parts]),
        )
