import pytest
import torch

from ucgen.errors import ConfigError
from ucgen.io.checkpoint import load_component, save_component
from ucgen.models.stage1 import Discriminator, Encoder, Generator, Stage1NetConfig


@pytest.mark.parametrize(("resolution", "channels"), [(8, 1), (16, 3), (28, 1), (32, 3)])
def test_shapes(resolution, channels):
    cfg = Stage1NetConfig(bits=3, fine_dim=5, width=8, channels=channels, resolution=resolution)
    z_c, z_f = torch.randn(2, 3), torch.randn(2, 5)
    x = Generator(cfg)(z_c, z_f)
    assert x.shape == (2, channels, resolution, resolution)
    assert x.abs().max() <= 1
    e_c, e_f = Encoder(cfg)(x)
    assert e_c.shape == (2, 3) and e_f.shape == (2, 5)
    assert Discriminator(cfg)(x, z_c, z_f).shape == (2,)


@pytest.mark.parametrize("resolution", [6, 18, 36])
def test_bad_resolution_is_refused(resolution):
    with pytest.raises(ConfigError, match="multiple of 4"):
        Stage1NetConfig(resolution=resolution)


def test_both_latents_change_the_image():
    torch.manual_seed(0)
    g = Generator(Stage1NetConfig(bits=2, fine_dim=3, width=8, resolution=8))
    z_c, z_f = torch.randn(4, 2), torch.randn(4, 3)
    assert not torch.allclose(g(z_c, z_f), g(z_c, torch.randn(4, 3)))
    assert not torch.allclose(g(z_c, z_f), g(-z_c, z_f))


@pytest.mark.parametrize("cls", [Generator, Encoder, Discriminator])
def test_save_load_identical_outputs(tmp_path, cls):
    torch.manual_seed(0)
    cfg = Stage1NetConfig(bits=2, fine_dim=3, width=8, channels=3, resolution=12)
    net = cls(cfg).eval()
    save_component(net, cfg, tmp_path / "net")
    loaded = load_component(cls, Stage1NetConfig, tmp_path / "net").eval()
    x, z_c, z_f = torch.rand(3, 3, 12, 12) * 2 - 1, torch.randn(3, 2), torch.randn(3, 3)
    args = {Generator: (z_c, z_f), Encoder: (x,), Discriminator: (x, z_c, z_f)}[cls]
    out, again = net(*args), loaded(*args)
    out = out if isinstance(out, tuple) else (out,)
    again = again if isinstance(again, tuple) else (again,)
    for a, b in zip(out, again, strict=True):
        assert torch.equal(a, b)
