"""`Stage1`: CoFi-UCGen stage 1 (adversarial semantic reciprocal learning) as a TrainingStage.

Each step: one discriminator update on a real pair (x, E(x)) and a generated pair (G(z), z),
then one joint G+E update on the adversarial and reciprocal losses of
`ucgen.methods.cofi.losses`, then an EMA update of G and E. During the first
`mi_warmup` steps only the encoder trains, on the teacher, mutual and balance terms, with
`mi_heads - 1` candidate coarse heads beside its own; at the end of the warm-up the head
with the lowest running mutual loss becomes the encoder's. With a coarse teacher
(`ucgen.methods.cofi.teacher`), the bits of every real image and its augmentation also learn
the teacher's code of the image. Labels are never used.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ucgen.config.schema import Stage1Config
from ucgen.data.dataset import to_uint8
from ucgen.io.checkpoint import save_component
from ucgen.methods.cofi import losses
from ucgen.methods.cofi.bitcodes import bit_ids, id_bits, signs
from ucgen.methods.cofi.neighbours import PixelNeighbours
from ucgen.methods.cofi.teacher import ManifoldTeacher
from ucgen.models.stage1 import (
    Discriminator,
    Encoder,
    Generator,
    Stage1NetConfig,
    coarse_head,
)
from ucgen.training import distributed as dist

# A collapse (every real image of a batch in one code) is reported only after this many steps:
# an untrained encoder may well put everything in one code.
COLLAPSE_AFTER = 500
BETAS = (0.5, 0.999)  # the DCGAN/BiGAN setting; (0, 0.99) was not tried
HEAD_LOSS_DECAY = 0.99  # running mean of each coarse head's mutual loss over ~100 steps


class Stage1:
    """Generator, encoder, joint discriminator, their EMA copies and optimisers.

    channels, resolution: of the training images (B, C, H, W) in [-1, 1]; images: the
    training set, where `mi_neighbours` pairs images with their neighbours in it; teacher:
    the coarse teacher whose codes the bits learn (weight `w_teacher`), if any.
    """

    name = "stage1"

    def __init__(
        self,
        config: Stage1Config,
        channels: int,
        resolution: int,
        device: torch.device | str = "cpu",
        images: torch.Tensor | None = None,
        teacher: ManifoldTeacher | None = None,
    ) -> None:
        config.check()
        self.teacher = None if teacher is None else teacher.to(device)
        self.neighbours = None
        if config.mi_neighbours > 0:
            if images is None:
                raise ValueError("stage1.mi_neighbours > 0 needs the training images")
            self.neighbours = PixelNeighbours(images, config.mi_neighbours)
        self.config = config
        self.batch_size = config.batch_size
        self.total_steps = config.steps
        self.device = torch.device(device)
        self.net_config = Stage1NetConfig(
            bits=config.bits,
            fine_dim=config.fine_dim,
            width=config.width,
            channels=channels,
            resolution=resolution,
            coarse_pool=config.coarse_pool,
        )
        self.G = Generator(self.net_config).to(self.device)
        self.E = Encoder(self.net_config).to(self.device)
        self.D = Discriminator(self.net_config).to(self.device)
        self.candidates = torch.nn.ModuleList(
            [coarse_head(self.net_config) for _ in range(config.mi_heads - 1)]
        ).to(self.device)
        # Running mutual loss of the encoder's coarse head (0) and of each candidate (1...).
        self.head_losses = torch.zeros(config.mi_heads, dtype=torch.float64)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False).eval()
        self.E_ema = copy.deepcopy(self.E).requires_grad_(False).eval()
        self.candidates_ema = copy.deepcopy(self.candidates).requires_grad_(False).eval()
        self.opt_ge = torch.optim.Adam(
            [*self.G.parameters(), *self.E.parameters(), *self.candidates.parameters()],
            lr=config.lr,
            betas=BETAS,
            fused=True,
        )
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr, betas=BETAS, fused=True)

    def _prior(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(n, self.net_config.latent_dim, device=self.device)
        return z[:, : self.config.bits], z[:, self.config.bits :]

    def train_step(
        self, images: torch.Tensor, labels: torch.Tensor | None, step: int
    ) -> dict[str, float]:
        """One D update and one G+E update on images (B, C, H, W) in [-1, 1]; labels ignored.

        G(z) and E(x) are computed once, with gradients, and serve both updates (the D update
        sees them detached; G and E do not change between the two, so this equals recomputing
        them). The encoder reads x, its augmentation and G(z) in one batched call, and D reads
        the real and generated pairs in one: every network is per-sample (GroupNorm, no batch
        statistics), so batching changes nothing but speed.
        """
        cfg = self.config
        if cfg.freeze_codes:
            frozen = step >= cfg.mi_warmup
            if step == cfg.mi_warmup:
                self._freeze_codes()
            for part in (self.E.trunk, self.E.coarse):
                # eval mode stops the spectral norms' power iterations as well
                part.requires_grad_(not frozen).train(not frozen)
        if step < cfg.mi_warmup:
            cfg = dataclasses.replace(
                cfg, w_adv=0.0, w_bit=0.0, w_fine=0.0, w_complete=0.0, w_augment=0.0
            )
        x = images.to(self.device)
        n = len(x)
        z_c, z_f = self._prior(n)
        reciprocal = cfg.w_bit > 0 or cfg.w_fine > 0
        fake = self.G(z_c, z_f) if reciprocal or cfg.w_adv > 0 else None
        taught = self.teacher is not None and cfg.w_teacher > 0
        augmented = cfg.w_augment > 0 or cfg.w_mutual > 0 or taught
        encoder_in = {"x": x}
        if augmented:
            partner = x if self.neighbours is None else self.neighbours.sample(x)
            encoder_in["x_aug"] = self._augment(partner)
        if reciprocal:
            encoder_in["fake"] = fake
        choosing = len(self.candidates) > 0 and step < self.config.mi_warmup
        coarse_all, fine_all, *head_input = self.E(
            torch.cat(list(encoder_in.values())), with_coarse_input=choosing
        )
        coarse = dict(zip(encoder_in, coarse_all.split(n), strict=True))
        fine = dict(zip(encoder_in, fine_all.split(n), strict=True))
        e_c, e_f = coarse["x"], fine["x"]
        logs: dict[str, float] = {}

        pair_c, pair_f = torch.cat([e_c, z_c]), torch.cat([e_f, z_f])
        if cfg.w_adv > 0:
            real, gen = self.D(
                torch.cat([x, fake.detach()]), pair_c.detach(), pair_f.detach()
            ).chunk(2)
            loss_d = losses.d_hinge(real, gen)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            dist.sync_gradients(self.D.parameters())
            self.opt_d.step()
            logs["d"] = loss_d.item()

        codes = bit_ids(e_c)
        logs["collapse"] = float(bool((codes == codes[0]).all())) if step >= COLLAPSE_AFTER else 0.0
        total = torch.zeros((), device=self.device)
        terms: dict[str, tuple[float, torch.Tensor]] = {}
        if cfg.w_adv > 0:
            self.D.requires_grad_(False)
            real, gen = self.D(torch.cat([x, fake]), pair_c, pair_f).chunk(2)
            terms["adv"] = (cfg.w_adv, losses.ge_adversarial(real, gen))
            self.D.requires_grad_(True)
        if reciprocal:
            r_c, r_f = coarse["fake"], fine["fake"]
            scale = losses.code_scale(e_c).detach()
            terms["bit"] = (cfg.w_bit, losses.bit_loss(cfg.mi_sharpness * r_c / scale, signs(z_c)))
            terms["fine"] = (cfg.w_fine, losses.fine_loss(r_f, z_f))
            logs["bit_acc"] = (signs(r_c) == signs(z_c)).float().mean().item()
        if cfg.w_complete > 0:
            terms["complete"] = (cfg.w_complete, losses.completeness_loss(self.G(e_c, e_f), x))
        if augmented:
            a_c = coarse["x_aug"]
            terms["augment"] = (cfg.w_augment, losses.bit_loss(a_c, signs(e_c).detach()))
            terms["mutual"] = (cfg.w_mutual, self._mutual(e_c, a_c, cfg.mi_sharpness))
        if taught:
            target = id_bits(self.teacher.code(x), cfg.bits).to(e_c)
            # Both views in the unit of their codes' scale, as the bit consistency term reads.
            unit = [cfg.mi_sharpness * v / losses.code_scale(v) for v in (e_c, coarse["x_aug"])]
            terms["teacher"] = (cfg.w_teacher, sum(losses.bit_loss(u, target) for u in unit) / 2)
        if cfg.w_balance > 0:
            terms["balance"] = (cfg.w_balance, losses.balance_loss(e_c))
        if choosing:
            pairs = head_input[0][: 2 * n]  # x and its augmentation
            head_mi = [
                self._mutual(*head(pairs).chunk(2), cfg.mi_sharpness) for head in self.candidates
            ]
            terms["candidates"] = (cfg.w_mutual, torch.stack(head_mi).sum())
        for key, (weight, value) in terms.items():
            if weight > 0:
                total = total + weight * value
            logs[key] = value.item()
        self.opt_ge.zero_grad(set_to_none=True)
        total.backward()
        dist.sync_gradients(self.opt_ge.param_groups[0]["params"])
        self.opt_ge.step()
        if choosing:
            # Over the global batch, so that every rank keeps the same running losses.
            mean = dist.mean_over_ranks(
                {str(i): v.item() for i, v in enumerate([terms["mutual"][1], *head_mi])}
            )
            current = torch.tensor([mean[str(i)] for i in range(len(mean))], dtype=torch.float64)
            self.head_losses.lerp_(current, 1 - HEAD_LOSS_DECAY)
            if step == self.config.mi_warmup - 1:
                logs["coarse_head"] = float(self._choose_coarse_head())
        self._update_ema(step)
        return logs

    @staticmethod
    def _mutual(a: torch.Tensor, b: torch.Tensor, sharpness: float) -> torch.Tensor:
        """The mutual term of the coarse latents of paired views a, b (B, K)."""
        return losses.mutual_information_loss(
            losses.code_probs(a, sharpness), losses.code_probs(b, sharpness)
        )

    @torch.no_grad()
    def _freeze_codes(self) -> None:
        """Give the live encoder the EMA encoder's trunk and coarse head, the codes that are
        saved and used: at the end of the warm-up they were the better codes
        (bench/stage1_results.md)."""
        for part in ("trunk", "coarse"):
            getattr(self.E, part).load_state_dict(getattr(self.E_ema, part).state_dict())

    @torch.no_grad()
    def _choose_coarse_head(self) -> int:
        """Make the head with the lowest running mutual loss the encoder's coarse head, live
        and EMA; its index (0: the encoder's own). The optimiser forgets the replaced head's
        moments."""
        best = int(self.head_losses.argmin())
        if best > 0:
            self.E.coarse.load_state_dict(self.candidates[best - 1].state_dict())
            self.E_ema.coarse.load_state_dict(self.candidates_ema[best - 1].state_dict())
            for p in self.E.coarse.parameters():
                self.opt_ge.state.pop(p, None)
        return best

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return losses.augment(
            x,
            cfg.aug_shift,
            cfg.aug_flip,
            cfg.aug_color,
            zoom=cfg.aug_zoom,
            intensity=cfg.aug_intensity,
            rotate=cfg.aug_rotate,
        )

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        # Warm-up (decay (1 + step) / (10 + step) until it reaches `ema`) so that short runs
        # are not dominated by the random initial weights.
        decay = min(self.config.ema, (1 + step) / (10 + step))
        pairs = ((self.G, self.G_ema), (self.E, self.E_ema), (self.candidates, self.candidates_ema))
        for net, ema in pairs:
            for p, q in zip(net.parameters(), ema.parameters(), strict=True):
                q.lerp_(p, 1 - decay)
            # Buffers are the spectral-norm power-iteration vectors: the EMA copy runs in eval
            # mode and never iterates, so it takes the live ones (they fit its averaged weights).
            for b, c in zip(net.buffers(), ema.buffers(), strict=True):
                c.copy_(b)

    def networks(self) -> list[torch.nn.Module]:
        return [self.G, self.E, self.D]

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_ge, self.opt_d]

    def state_dict(self) -> dict[str, Any]:
        """Weights of G, E, D, the candidate coarse heads and the EMA copies, the heads'
        running losses, and both optimiser states."""
        return {
            "G": self.G.state_dict(),
            "E": self.E.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            "E_ema": self.E_ema.state_dict(),
            "candidates": self.candidates.state_dict(),
            "candidates_ema": self.candidates_ema.state_dict(),
            "head_losses": self.head_losses.clone(),
            "opt_ge": self.opt_ge.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("G", "E", "D", "G_ema", "E_ema"):
            getattr(self, key).load_state_dict(state[key], strict=True)
        # Checkpoints from before `mi_heads` existed hold no candidates (as with mi_heads 1).
        self.candidates.load_state_dict(state.get("candidates", {}), strict=True)
        self.candidates_ema.load_state_dict(state.get("candidates_ema", {}), strict=True)
        self.head_losses.copy_(state.get("head_losses", self.head_losses))
        self.opt_ge.load_state_dict(state["opt_ge"])
        self.opt_d.load_state_dict(state["opt_d"])

    def save(self, folder: Path) -> None:
        """folder/generator and folder/encoder: the EMA networks as safetensors + config.json.

        The fine basis needs the training images; `ucgen.methods.cofi.basis.fit_basis` builds
        it from the saved encoder.
        """
        folder = Path(folder)
        save_component(self.G_ema, self.net_config, folder / "generator")
        save_component(self.E_ema, self.net_config, folder / "encoder")

    @torch.no_grad()
    def preview(self, generator: torch.Generator, per_code: int = 8) -> np.ndarray:
        """(2**K * per_code, H, W, C) uint8: row r holds EMA samples whose bit-code id is r."""
        k = self.config.bits
        n = 2**k * per_code
        z = torch.randn(n, self.net_config.latent_dim, generator=generator).to(self.device)
        codes = torch.arange(2**k).repeat_interleave(per_code)
        z_c = z[:, :k].abs() * id_bits(codes, k).to(self.device)
        return to_uint8(self.G_ema(z_c, z[:, k:]))
