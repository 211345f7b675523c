"""The fine encoder trained through the diffusion loss (`cofi.fine_encoder_steps`): its
vectors carry what the code does not say about an image, a run trained with it gives its fine
coefficients from it, and the stage-1 generator still reads its own fine space."""

import torch

from tests.cli.tiny_runs import train_tiny
from ucgen.app.trained import TrainedModel
from ucgen.config.schema import DiffusionConfig
from ucgen.data.sources.shapes import make_shapes
from ucgen.diffusion.edm import EDM
from ucgen.diffusion.pipeline import SamplerSettings
from ucgen.methods.cofi.bitcodes import signs
from ucgen.methods.cofi.fine_stage import FineEncoderStage
from ucgen.models.condition import Condition
from ucgen.models.fine_encoder import FineEncoderConfig, FineEncoderNet
from ucgen.models.hm_unet import HMUNet, HMUNetConfig
from ucgen.models.stage1 import Encoder, Stage1NetConfig
from ucgen.training.diffusion_stage import DiffusionStage


def test_the_diffusion_stage_starts_from_given_weights():
    cfg = HMUNetConfig(1, 8, width=8, channel_mult=(1, 2), coarse_dim=1, fine_dim=2)
    start = HMUNet(cfg).state_dict()
    stage = DiffusionStage(DiffusionConfig(width=8, channel_mult=(1, 2)), cfg, init=start)
    for key, value in stage.model.state_dict().items():
        torch.testing.assert_close(value, start[key])
        torch.testing.assert_close(stage.ema.state_dict()[key], start[key])


def test_fine_encoder_shapes():
    net = FineEncoderNet(FineEncoderConfig(channels=3, resolution=16, width=8, fine_dim=5))
    assert net(torch.zeros(2, 3, 16, 16)).shape == (2, 5)


def test_trained_fine_vectors_help_the_unet_denoise_their_own_image():
    torch.manual_seed(0)
    data = make_shapes(256, 8, seed=0)
    x = data.tensors()
    coarse = Encoder(Stage1NetConfig(bits=1, fine_dim=4, width=8, channels=3, resolution=8))
    unet = HMUNetConfig(
        3, 8, width=16, channel_mult=(1,), coarse_dim=1, fine_dim=4, fine_schedule="flat"
    )
    stage = FineEncoderStage(200, 64, 2e-3, FineEncoderConfig(3, 8, 8, 4), unet, coarse)
    for step in range(200):
        stage.train_step(x[torch.randint(0, len(x), (64,))], None, step)
    stage.encoder.eval()
    stage.unet.eval()
    with torch.no_grad():
        own = stage.encoder(x)
        coarse_bits = signs(stage.coarse(x)[0])
        shuffled = own[torch.randperm(len(own), generator=torch.Generator().manual_seed(1))]

        def loss(fine: torch.Tensor) -> float:
            """Denoising error at sigma 1.5, where the image is mostly noise and the
            condition decides much of what the denoiser can recover."""
            noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))
            sigma = torch.full((len(x),), 1.5)
            net = lambda xi, cn: stage.unet(xi, cn, coarse_bits, fine)  # noqa: E731
            return (EDM().denoise(net, x + 1.5 * noise, sigma) - x).pow(2).mean().item()

        # another image's fine vector (same distribution, wrong image) denoises clearly worse
        assert loss(own) < 0.9 * loss(shuffled)


def test_a_run_with_the_fine_encoder_encodes_fine_from_it(tmp_path):
    run = train_tiny(tmp_path, "cofi", "--set", "cofi.fine_encoder_steps=4")
    assert (run / "checkpoints" / "fine-encoder").is_dir()
    model = TrainedModel.load(run)
    encoder = model.parts.encoder
    assert encoder.fine is not None
    # the HM-UNet sees F-space vectors: the generator maps the conditions' coefficients there
    cond = model.conditions(3, seed=1)
    settings = SamplerSettings(steps=2)
    inner = model.generator.inner
    z = encoder.basis.cpu().fine_vector(cond.fine, cond.code)
    mapped = Condition(cond.coarse, z, cond.code)
    torch.testing.assert_close(
        model.generator.render(cond, 3, 0, settings), inner.render(mapped, 3, 0, settings)
    )
    assert not torch.allclose(
        model.generator.render(cond, 3, 0, settings), inner.render(cond, 3, 0, settings)
    )
    images, _ = model.sample(4, seed=0, steps=2)
    x = torch.as_tensor(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    z_f = encoder.latents(x)[1]
    assert torch.allclose(z_f, encoder.fine(x))
    assert not torch.allclose(z_f, encoder.stage1_latents(x)[1])
    gan = TrainedModel.load(run, generator="stage1")
    assert gan.sample(2, seed=0)[0].shape == images[:2].shape
