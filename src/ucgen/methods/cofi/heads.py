"""Candidate coarse heads for stage 1's warm-up: IIC's sub-heads, chosen without labels.

The encoder-only warm-up finds a partition through the mutual term or does not: on the shapes
set one head found the four shapes on some seeds and CPUs and none on others
(bench/results/fine_control.md). IIC (Ji et al. 2019) trains several heads on one trunk and
keeps the one whose loss is lowest. `cofi.mi_heads = H` trains H - 1 candidates beside the
encoder's own head on the mutual term of the warm-up, keeps a running mean of every head's
loss, and at the warm-up's last step makes the lowest the encoder's coarse head.
"""

from __future__ import annotations

import copy

import torch

from ucgen.models.stage1 import Encoder, Stage1NetConfig, coarse_head
from ucgen.runtime import distributed as dist
from ucgen.runtime.ema import update_ema

LOSS_DECAY = 0.99  # each head's running mutual loss averages about the last 100 steps


class CandidateHeads(torch.nn.Module):
    """`count` candidate coarse heads, their EMA copies and every head's running mutual loss
    (index 0: the encoder's own head, 1...: the candidates)."""

    def __init__(self, config: Stage1NetConfig, count: int) -> None:
        super().__init__()
        self.heads = torch.nn.ModuleList([coarse_head(config) for _ in range(count)])
        self.heads_ema = copy.deepcopy(self.heads).requires_grad_(False).eval()
        self.register_buffer("running", torch.zeros(count + 1, dtype=torch.float64))

    def __len__(self) -> int:
        return len(self.heads)

    def codes(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Each candidate's z_c_hat (B, K) of the trunk features its coarse head reads."""
        return [head(features) for head in self.heads]

    @torch.no_grad()
    def record(self, losses: list[torch.Tensor]) -> None:
        """Fold this step's mutual loss of every head (own head first) into the running means,
        over the global batch so that every rank keeps the same means."""
        mean = dist.mean_over_ranks({str(i): v.item() for i, v in enumerate(losses)})
        current = torch.tensor([mean[str(i)] for i in range(len(losses))], dtype=torch.float64)
        self.running.lerp_(current.to(self.running.device), 1 - LOSS_DECAY)

    @torch.no_grad()
    def choose(
        self, encoder: Encoder, encoder_ema: Encoder, optimizer: torch.optim.Optimizer
    ) -> int:
        """Give the encoder (live and EMA) the head of lowest running loss; its index (0: the
        encoder's own). The optimiser forgets the replaced head's moments."""
        best = int(self.running.argmin())
        if best > 0:
            encoder.coarse.load_state_dict(self.heads[best - 1].state_dict())
            encoder_ema.coarse.load_state_dict(self.heads_ema[best - 1].state_dict())
            for p in encoder.coarse.parameters():
                optimizer.state.pop(p, None)
        return best

    def update_ema(self, decay: float) -> None:
        update_ema(self.heads_ema, self.heads, decay)
