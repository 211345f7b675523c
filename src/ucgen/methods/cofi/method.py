"""CoFi-UCGen as a choice of three parts:

    semantic encoder  : stage-1 encoder E + fine basis -> bit-code and fine coefficients
    condition sampler : i.i.d. Gaussian prior (no label prior, no number of classes)
    pixel generator   : HM-UNet, trained on the encoder's conditions of real images

Its semantic stages: with `cofi.teacher_steps`, the coarse teacher's autoencoder
(`ucgen.methods.cofi.teacher`), whose clustering is fitted once it has trained; then adversarial
semantic reciprocal learning (`Stage1`), whose bits learn the teacher's codes. The stage-1
generator is kept as a second pixel generator ("stage1"), the GAN baseline of the method.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import torch

from ucgen.config import Config
from ucgen.data import ImageDataset
from ucgen.diffusion.pipeline import SamplerSettings
from ucgen.errors import UcgenError
from ucgen.io.checkpoint import CONFIG_NAME, load_component, save_component
from ucgen.methods.cofi.basis import FineBasis
from ucgen.methods.cofi.config import CoFiConfig
from ucgen.methods.cofi.encoder import CoFiEncoder, fit_encoder
from ucgen.methods.cofi.fine_stage import ENCODER_FOLDER, FineEncoderStage
from ucgen.methods.cofi.prior import FittedPrior, GaussianPrior
from ucgen.methods.cofi.stage import Stage1
from ucgen.methods.cofi.teacher import (
    AutoencoderStage,
    ManifoldTeacher,
    TeacherConfig,
    fit_teacher,
)
from ucgen.methods.method import Parts
from ucgen.models.condition import Condition
from ucgen.models.fine_encoder import FineEncoderConfig, FineEncoderNet
from ucgen.models.stage1 import Encoder, Generator, Stage1NetConfig
from ucgen.runtime import distributed as dist
from ucgen.runtime.checkpoints import final_components
from ucgen.runtime.seeds import image_generator
from ucgen.runtime.stage import TrainingStage
from ucgen.training.diffusion_stage import unet_config

PARTS_FOLDER = "cofi-parts"
TEACHER_FOLDER = "teacher"
PRIORS = {"gaussian": GaussianPrior, "fitted": FittedPrior}  # by cofi.prior


class Stage1Renderer:
    """The stage-1 generator G(z_c, z_f) as a PixelGenerator: the condition's bits give the
    signs of z_c (magnitudes drawn per image from (seed, i)), its fine coefficients give z_f
    through the code's basis. Sampler settings (steps, guidance) do not apply to a GAN."""

    def __init__(self, generator: Generator, basis: FineBasis) -> None:
        self.generator = generator.eval().requires_grad_(False)
        self.basis = basis

    @torch.no_grad()
    def render(
        self,
        condition: Condition | None,
        n: int,
        seed: int,
        settings: SamplerSettings,
        init: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if init is not None:
            raise UcgenError(
                "the stage-1 generator cannot start from an image: use the diffusion generator"
            )
        if condition is None or condition.coarse is None or condition.fine is None:
            raise ValueError("the stage-1 generator needs a bit-code and a fine vector")
        device = next(self.generator.parameters()).device
        k = condition.coarse.shape[1]
        out = []
        for start in range(0, n, settings.batch_size):
            rows = range(start, min(n, start + settings.batch_size))
            magnitude = torch.stack([_half_normal(seed, i, k) for i in rows])
            part = condition.slice(slice(rows.start, rows.stop))
            z_c = part.coarse * magnitude  # type: ignore[operator]
            z_f = self.basis.fine_vector(part.fine, part.code)  # type: ignore[arg-type]
            out.append(self.generator(z_c.to(device), z_f.to(device)).clamp(-1, 1).cpu())
        return torch.cat(out)


def _half_normal(seed: int, index: int, k: int) -> torch.Tensor:
    return torch.randn(k, generator=image_generator(seed, index, 1)).abs()


class CoFiUCGen:
    name = "cofi"
    summary = "CoFi-UCGen: bit-codes + fine basis from adversarial reciprocal learning, HM-UNet"

    def semantic_stages(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Iterator[TrainingStage]:
        c, h, _ = data.shape
        teacher = None
        options: CoFiConfig = config.method
        if options.teacher_steps > 0:
            autoencoder = AutoencoderStage(options.teacher_steps, c, h, device)
            yield autoencoder
            teacher = self._teacher(config, autoencoder, data, checkpoints / TEACHER_FOLDER)
        yield Stage1(options, channels=c, resolution=h, device=device, teacher=teacher)
        if options.fine_encoder_steps > 0:
            yield self._fine_stage(config, c, h, checkpoints, device)

    @staticmethod
    def _fine_stage(
        config: Config, channels: int, resolution: int, checkpoints: Path, device: torch.device
    ) -> FineEncoderStage:
        """The fine encoder's stage, on the finished stage-1 encoder's bit-codes."""
        options: CoFiConfig = config.method
        coarse = load_component(
            Encoder, Stage1NetConfig, final_components(checkpoints, Stage1.name) / "encoder"
        )
        unet = unet_config(config.diffusion, channels, resolution, options.bits, options.fine_dim)
        return FineEncoderStage(
            options.fine_encoder_steps,
            config.diffusion.batch_size,
            config.diffusion.lr,
            FineEncoderConfig(channels, resolution, options.width, options.fine_dim),
            unet,
            coarse,
            device,
        )

    @staticmethod
    def _teacher(
        config: Config, autoencoder: AutoencoderStage, data: ImageDataset, folder: Path
    ) -> ManifoldTeacher:
        """The teacher fitted on the trained autoencoder, or the one a resumed run already
        fitted (stage 1 may have learned its codes). Rank 0 fits it; every rank loads it."""

        def fit() -> None:
            images = data.tensors().to(autoencoder.device)
            teacher = fit_teacher(autoencoder.model, images, config.method.bits, config.train.seed)
            save_component(teacher, teacher.config, folder)

        return dist.fit_once(
            folder / CONFIG_NAME,
            fit,
            lambda: load_component(ManifoldTeacher, TeacherConfig, folder).to(autoencoder.device),
        )

    def fit_parts(
        self, config: Config, data: ImageDataset, checkpoints: Path, device: torch.device
    ) -> Parts:
        dist.barrier()  # every rank looks before rank 0 may write, so all take one branch
        if (checkpoints / PARTS_FOLDER / "basis" / CONFIG_NAME).is_file():
            # Fitted before a resume (config.json is written last): the HM-UNet may already be
            # trained on these conditions, so they stay, whatever data the resumed run has.
            return self.load_parts(config, checkpoints, device)
        # Every rank fits the basis (a deterministic PCA of the same images) and rank 0 saves
        # it: unlike `dist.fit_once`, no rank loads it back, which would build the encoder a
        # second time and draw its initial weights from the random stream the UNet's follow.
        folder = final_components(checkpoints, Stage1.name)
        net = load_component(Encoder, Stage1NetConfig, folder / "encoder").to(device)
        fine = None
        options: CoFiConfig = config.method
        if options.fine_encoder_steps > 0:
            fine_folder = final_components(checkpoints, FineEncoderStage.name) / ENCODER_FOLDER
            fine = load_component(FineEncoderNet, FineEncoderConfig, fine_folder).to(device)
        encoder = fit_encoder(net, data.tensors().to(device), fine=fine, whiten=options.whiten_fine)
        if dist.is_main():
            encoder.save(checkpoints / PARTS_FOLDER)
        dist.barrier()
        return self._parts(config, encoder, checkpoints, device)

    def load_parts(self, config: Config, checkpoints: Path, device: torch.device) -> Parts:
        encoder = CoFiEncoder.load(checkpoints / PARTS_FOLDER)
        encoder.net.to(device)
        encoder.basis.to(device)
        encoder.gan_basis.to(device)
        if encoder.fine is not None:
            encoder.fine.to(device)
        return self._parts(config, encoder, checkpoints, device)

    def _parts(
        self, config: Config, encoder: CoFiEncoder, checkpoints: Path, device: torch.device
    ) -> Parts:
        """The parts; with a fine encoder F, the HM-UNet takes F-space vectors (the basis maps
        coefficients there) and starts from the UNet co-trained with F, which has learned to
        use them (a fresh UNet trained on fixed vectors ignores them within a short budget:
        bench/results/fine_control.md)."""
        basis = copy.deepcopy(encoder.basis).cpu()  # the prior draws on the CPU
        gan_basis = copy.deepcopy(encoder.gan_basis).cpu()
        stage1 = final_components(checkpoints, Stage1.name)
        generator = load_component(Generator, Stage1NetConfig, stage1 / "generator").to(device)
        cfg = encoder.net.config
        unet_input, unet_init = None, None
        if encoder.fine is not None:

            def unet_input(c: Condition) -> Condition:
                """Basis coefficients -> F-space vectors, on the condition's device."""
                z = basis.fine_vector(c.fine.cpu(), c.code.cpu())  # type: ignore[union-attr]
                return Condition(c.coarse, z.to(c.fine.device), c.code)  # type: ignore[union-attr]

            unet_init = FineEncoderStage.trained_unet(checkpoints / FineEncoderStage.name)
        return Parts(
            encoder=encoder,
            sampler=PRIORS[config.method.prior](basis),
            condition=lambda images, labels: encoder.encode(images),
            coarse_dim=cfg.bits,
            fine_dim=cfg.fine_dim,
            num_codes=2**cfg.bits,
            code_bits=cfg.bits,
            image_shape=(cfg.channels, cfg.resolution, cfg.resolution),
            generators={"stage1": Stage1Renderer(generator, gan_basis)},
            unet_input=unet_input,
            unet_init=unet_init,
        )
