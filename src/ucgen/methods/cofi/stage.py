"""`Stage1`: CoFi-UCGen stage 1 (adversarial semantic reciprocal learning) as a TrainingStage.

Each step: one discriminator update on a real pair (x, E(x)) and a generated pair (G(z), z),
then one joint G+E update on the named loss terms of `ucgen.methods.cofi.losses`, then an EMA
update of G and E. During the first `mi_warmup` steps (the warm-up phase) only the encoder
trains, on the teacher, mutual and balance terms; with `freeze_codes` its trunk and coarse head
then stop, and the game (every term) trains G, D and the fine head around those codes. With
`mi_heads > 1`, candidate coarse heads learn beside the encoder's own in the warm-up, and the one
of lowest mutual loss becomes the encoder's at its end (`ucgen.methods.cofi.heads`). With a
coarse teacher (`ucgen.methods.cofi.teacher`), the bits of every real image and its
augmentation learn the teacher's code of the image. Labels are never used.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ucgen.data.dataset import to_uint8
from ucgen.io.checkpoint import save_component
from ucgen.methods.cofi import losses
from ucgen.methods.cofi.bitcodes import bit_ids, id_bits, signs
from ucgen.methods.cofi.config import CoFiConfig
from ucgen.methods.cofi.heads import CandidateHeads
from ucgen.methods.cofi.teacher import ManifoldTeacher
from ucgen.models.stage1 import Discriminator, Encoder, Generator, Stage1NetConfig
from ucgen.runtime import distributed as dist
from ucgen.runtime.ema import ema_decay, update_ema

# A collapse (every real image of a batch in one code) is reported only after this many steps:
# an untrained encoder may well put everything in one code.
COLLAPSE_AFTER = 500
BETAS = (0.5, 0.999)  # the DCGAN/BiGAN setting
# The terms that only the game phase trains (the warm-up trains the encoder's codes alone).
GAME_TERMS = ("w_adv", "w_bit", "w_fine", "w_complete", "w_augment")

# One loss term of the G+E update: (weight, value); a term of weight 0 is logged, not trained.
Term = tuple[float, torch.Tensor]


@dataclasses.dataclass
class Views:
    """The encoder's (coarse, fine) latents of each image batch it read in one call: "x" (real
    images), "x_aug" (their augmentations) and "fake" (G(z)), where the step needs them; and
    the trunk features its coarse head read, which candidate heads read too."""

    coarse: dict[str, torch.Tensor]
    fine: dict[str, torch.Tensor]
    coarse_input: dict[str, torch.Tensor]


class Stage1:
    """Generator, encoder, joint discriminator, their EMA copies and optimisers.

    channels, resolution: of the training images (B, C, H, W) in [-1, 1]; teacher: the coarse
    teacher whose codes the bits learn (weight `w_teacher`), if any.
    """

    name = "stage1"

    def __init__(
        self,
        config: CoFiConfig,
        channels: int,
        resolution: int,
        device: torch.device | str = "cpu",
        teacher: ManifoldTeacher | None = None,
    ) -> None:
        config.check()
        self.teacher = None if teacher is None else teacher.to(device)
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
        self.candidates = CandidateHeads(self.net_config, config.mi_heads - 1).to(self.device)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False).eval()
        self.E_ema = copy.deepcopy(self.E).requires_grad_(False).eval()
        self.opt_ge = torch.optim.Adam(
            [*self.G.parameters(), *self.E.parameters(), *self.candidates.heads.parameters()],
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
        cfg = self._phase(step)
        x = images.to(self.device)
        z_c, z_f = self._prior(len(x))
        fake = self.G(z_c, z_f) if self._reciprocal(cfg) or cfg.w_adv > 0 else None
        views = self._encode(cfg, x, fake)
        e_c, e_f = views.coarse["x"], views.fine["x"]
        logs: dict[str, float] = {}
        if cfg.w_adv > 0:
            logs["d"] = self._discriminator_step(x, fake, e_c, e_f, z_c, z_f)
        codes = bit_ids(e_c)
        logs["collapse"] = float(bool((codes == codes[0]).all())) if step >= COLLAPSE_AFTER else 0.0
        terms = self._terms(cfg, x, fake, views, z_c, z_f, logs)
        choosing = len(self.candidates) > 0 and step < cfg.mi_warmup
        if choosing:
            head_mi = self._candidate_mutual(cfg, views)
            terms["candidates"] = (cfg.w_mutual, torch.stack(head_mi).sum())
        total = torch.zeros((), device=self.device)
        for key, (weight, value) in terms.items():
            if weight > 0:
                total = total + weight * value
            logs[key] = value.item()
        self.opt_ge.zero_grad(set_to_none=True)
        total.backward()
        dist.sync_gradients(self.opt_ge.param_groups[0]["params"])
        self.opt_ge.step()
        if choosing:
            self.candidates.record([terms["mutual"][1], *head_mi])
            if step == cfg.mi_warmup - 1:
                logs["coarse_head"] = float(self.candidates.choose(self.E, self.E_ema, self.opt_ge))
        self._update_ema(step)
        return logs

    def _phase(self, step: int) -> CoFiConfig:
        """The options in force at `step`: in the warm-up the game's terms are off. With
        `freeze_codes`, the codes freeze when the game starts (the EMA's, see `_freeze_codes`)."""
        cfg = self.config
        if cfg.freeze_codes:
            frozen = step >= cfg.mi_warmup
            if step == cfg.mi_warmup:
                self._freeze_codes()
            for part in (self.E.trunk, self.E.coarse):
                # eval mode stops the spectral norms' power iterations as well
                part.requires_grad_(not frozen).train(not frozen)
        if step < cfg.mi_warmup:
            cfg = dataclasses.replace(cfg, **dict.fromkeys(GAME_TERMS, 0.0))
        return cfg

    @staticmethod
    def _reciprocal(cfg: CoFiConfig) -> bool:
        return cfg.w_bit > 0 or cfg.w_fine > 0

    def _taught(self, cfg: CoFiConfig) -> bool:
        return self.teacher is not None and cfg.w_teacher > 0

    def _encode(self, cfg: CoFiConfig, x: torch.Tensor, fake: torch.Tensor | None) -> Views:
        """E of the real images, and where terms need them of their augmentations and of G(z),
        in one call."""
        batches = {"x": x}
        if cfg.w_augment > 0 or cfg.w_mutual > 0 or self._taught(cfg):
            batches["x_aug"] = self._augment(x)
        if self._reciprocal(cfg):
            batches["fake"] = fake  # type: ignore[assignment]
        n = len(x)
        outputs = [
            dict(zip(batches, t.split(n), strict=True))
            for t in self.E.read(torch.cat(list(batches.values())))
        ]
        return Views(*outputs)

    def _discriminator_step(self, x, fake, e_c, e_f, z_c, z_f) -> float:
        """One hinge-loss update of D on the real pair (x, E(x)) against (G(z), z)."""
        pair_c, pair_f = torch.cat([e_c, z_c]), torch.cat([e_f, z_f])
        real, gen = self.D(torch.cat([x, fake.detach()]), pair_c.detach(), pair_f.detach()).chunk(2)
        loss_d = losses.d_hinge(real, gen)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        dist.sync_gradients(self.D.parameters())
        self.opt_d.step()
        return loss_d.item()

    def _terms(
        self,
        cfg: CoFiConfig,
        x: torch.Tensor,
        fake: torch.Tensor | None,
        views: Views,
        z_c: torch.Tensor,
        z_f: torch.Tensor,
        logs: dict[str, float],
    ) -> dict[str, Term]:
        """The loss terms of the G+E update, by name, in the order they are summed."""
        e_c, e_f = views.coarse["x"], views.fine["x"]
        terms: dict[str, Term] = {}
        if cfg.w_adv > 0:
            terms["adv"] = (cfg.w_adv, self._adversarial(x, fake, e_c, e_f, z_c, z_f))
        if self._reciprocal(cfg):
            terms["bit"] = (cfg.w_bit, self._bit_consistency(views, z_c))
            terms["fine"] = (cfg.w_fine, losses.fine_loss(views.fine["fake"], z_f))
            logs["bit_acc"] = (signs(views.coarse["fake"]) == signs(z_c)).float().mean().item()
        if cfg.w_complete > 0:
            terms["complete"] = (cfg.w_complete, losses.completeness_loss(self.G(e_c, e_f), x))
        if "x_aug" in views.coarse:
            a_c = views.coarse["x_aug"]
            terms["augment"] = (cfg.w_augment, losses.bit_loss(a_c, signs(e_c).detach()))
            terms["mutual"] = (cfg.w_mutual, self._mutual(e_c, a_c, cfg.mi_sharpness))
        if self._taught(cfg):
            terms["teacher"] = (cfg.w_teacher, self._teacher_term(cfg, x, views))
        if cfg.w_balance > 0:
            terms["balance"] = (cfg.w_balance, losses.balance_loss(e_c))
        return terms

    def _adversarial(self, x, fake, e_c, e_f, z_c, z_f) -> torch.Tensor:
        """G and E against the frozen D: the generated pair should look real and the real one
        generated."""
        self.D.requires_grad_(False)
        pair_c, pair_f = torch.cat([e_c, z_c]), torch.cat([e_f, z_f])
        real, gen = self.D(torch.cat([x, fake]), pair_c, pair_f).chunk(2)
        self.D.requires_grad_(True)
        return losses.ge_adversarial(real, gen)

    def _bit_consistency(self, views: Views, z_c: torch.Tensor) -> torch.Tensor:
        """E(G(z)) recovers the bits of z, read in the unit of the real codes' scale."""
        scale = losses.code_scale(views.coarse["x"]).detach()
        r_c = views.coarse["fake"]
        return losses.bit_loss(self.config.mi_sharpness * r_c / scale, signs(z_c))

    def _teacher_term(self, cfg: CoFiConfig, x: torch.Tensor, views: Views) -> torch.Tensor:
        """The bits of x and of its augmentation learn the teacher's code of x, both views in
        the unit of their codes' scale, as the bit consistency term reads them."""
        target = id_bits(self.teacher.code(x), cfg.bits).to(views.coarse["x"])  # type: ignore[union-attr]
        unit = [
            cfg.mi_sharpness * v / losses.code_scale(v)
            for v in (views.coarse["x"], views.coarse["x_aug"])
        ]
        return sum(losses.bit_loss(u, target) for u in unit) / 2  # type: ignore[return-value]

    def _candidate_mutual(self, cfg: CoFiConfig, views: Views) -> list[torch.Tensor]:
        """The mutual term of each candidate head's codes of x and its augmentation."""
        n = len(views.coarse["x"])
        pairs = torch.cat([views.coarse_input["x"], views.coarse_input["x_aug"]])
        return [self._mutual(*c.split(n), cfg.mi_sharpness) for c in self.candidates.codes(pairs)]

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

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return losses.augment_with(x, self.config)

    def _update_ema(self, step: int) -> None:
        decay = ema_decay(step, self.config.ema)
        for net, ema in ((self.G, self.G_ema), (self.E, self.E_ema)):
            update_ema(ema, net, decay)
        if step < self.config.mi_warmup:  # after it the candidates are never read again
            self.candidates.update_ema(decay)

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
            "opt_ge": self.opt_ge.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("G", "E", "D", "G_ema", "E_ema"):
            getattr(self, key).load_state_dict(state[key], strict=True)
        # Checkpoints from before candidate heads hold none, as a run with mi_heads = 1.
        if "candidates" in state:
            self.candidates.load_state_dict(state["candidates"], strict=True)
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
