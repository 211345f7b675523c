import io

import numpy as np
import pytest
import torch

from tests.methods.game import game_options
from ucgen.io.checkpoint import load_component
from ucgen.methods.cofi.basis import BasisConfig, FineBasis
from ucgen.methods.cofi.bitcodes import bit_ids
from ucgen.methods.cofi.encoder import CoFiEncoder, fit_encoder
from ucgen.methods.cofi.prior import FittedPrior, GaussianPrior
from ucgen.methods.cofi.stage import Stage1
from ucgen.methods.parts import ConditionSampler, SemanticEncoder
from ucgen.models.stage1 import Encoder, Generator, Stage1NetConfig

CFG = game_options(bits=2, fine_dim=3, width=8, batch_size=8, steps=2)


def images(n=40, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture
def stage():
    torch.manual_seed(0)
    st = Stage1(CFG, channels=1, resolution=8)
    for step in range(2):
        logs = st.train_step(images(8, step), None, step)
    assert {"d", "adv", "bit", "fine", "complete"} <= set(logs)
    assert all(np.isfinite(v) for v in logs.values())
    return st


def test_encoder_condition_shapes_and_consistency(stage):
    enc = fit_encoder(stage.E_ema, images(), min_count=10)
    assert isinstance(enc, SemanticEncoder)
    x = images(5, 1)
    cond = enc.encode(x)
    assert cond.coarse.shape == (5, 2) and cond.fine.shape == (5, 3) and cond.code.shape == (5,)
    assert cond.code.dtype == torch.int64
    assert torch.equal(bit_ids(cond.coarse), cond.code)
    z_c, z_f = stage.E_ema(x)
    assert torch.equal(cond.code, bit_ids(z_c))
    assert torch.allclose(enc.basis.fine_vector(cond.fine, cond.code), z_f, atol=1e-5)


def test_encoder_save_load_identical(stage, tmp_path):
    enc = fit_encoder(stage.E_ema, images(), min_count=10)
    enc.save(tmp_path)
    again = CoFiEncoder.load(tmp_path)
    a, b = enc.encode(images(6, 2)), again.encode(images(6, 2))
    for t, u in ((a.coarse, b.coarse), (a.fine, b.fine), (a.code, b.code)):
        assert torch.equal(t, u)


def test_prior_with_code_yields_that_code(stage):
    prior = GaussianPrior(fit_encoder(stage.E_ema, images(), min_count=10).basis)
    assert isinstance(prior, ConditionSampler)
    for code in range(4):
        cond = prior.sample(50, torch.Generator().manual_seed(code), code=code)
        assert (cond.code == code).all()
        assert torch.equal(bit_ids(cond.coarse), cond.code)
    free = prior.sample(4000, torch.Generator().manual_seed(9))
    assert np.bincount(free.code.numpy(), minlength=4).min() > 850  # ~1000 each
    again = prior.sample(4000, torch.Generator().manual_seed(9))
    assert torch.equal(free.fine, again.fine)
    with pytest.raises(ValueError, match="code must be in"):
        prior.sample(1, torch.Generator(), code=4)


def test_fitted_prior_draws_codes_and_fine_as_the_training_images_have_them():
    basis = FineBasis(BasisConfig(bits=2, fine_dim=3))
    basis.count[:] = torch.tensor([700, 100, 200, 0])
    basis.variance[:] = torch.tensor([[4.0, 1.0, 0.25]] * 4)
    prior = FittedPrior(basis)
    assert isinstance(prior, ConditionSampler)
    cond = prior.sample(20000, torch.Generator().manual_seed(0))
    share = np.bincount(cond.code.numpy(), minlength=4) / 20000
    assert np.allclose(share, [0.7, 0.1, 0.2, 0.0], atol=0.015)
    assert torch.equal(bit_ids(cond.coarse), cond.code)
    assert torch.allclose(cond.fine.var(dim=0), torch.tensor([4.0, 1.0, 0.25]), rtol=0.05)
    again = prior.sample(20000, torch.Generator().manual_seed(0))
    assert torch.equal(cond.fine, again.fine) and torch.equal(cond.code, again.code)
    assert (prior.sample(5, torch.Generator(), code=3).code == 3).all()
    with pytest.raises(ValueError, match="code must be in"):
        prior.sample(1, torch.Generator(), code=4)


def test_stage_save_writes_loadable_ema_components(stage, tmp_path):
    stage.save(tmp_path)
    g = load_component(Generator, Stage1NetConfig, tmp_path / "generator")
    e = load_component(Encoder, Stage1NetConfig, tmp_path / "encoder").eval()
    z_c, z_f = torch.randn(3, 2), torch.randn(3, 3)
    assert torch.equal(g(z_c, z_f), stage.G_ema(z_c, z_f))
    assert torch.equal(e(images(3))[0], stage.E_ema(images(3))[0])


def test_state_dict_resume_is_exact(stage):
    buffer = io.BytesIO()  # as the loop does: through torch.save / torch.load(weights_only)
    torch.save(stage.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    torch.manual_seed(1)
    other = Stage1(CFG, channels=1, resolution=8)
    other.load_state_dict(state)
    torch.manual_seed(5)
    a = stage.train_step(images(8, 7), None, 2)
    torch.manual_seed(5)
    b = other.train_step(images(8, 7), None, 2)
    assert a == b


def test_preview_one_row_per_code(stage):
    grid = stage.preview(torch.Generator().manual_seed(0), per_code=3)
    assert grid.shape == (4 * 3, 8, 8, 1) and grid.dtype == np.uint8


def test_collapse_is_reported_when_every_image_has_one_code(monkeypatch):
    import ucgen.methods.cofi.stage as stage_module

    torch.manual_seed(0)
    st = Stage1(CFG, channels=1, resolution=8)
    with torch.no_grad():
        for p in st.E.parameters():
            p.zero_()
    # An untrained encoder may put everything in one code: not reported early on.
    assert st.train_step(images(8, 0), None, 0)["collapse"] == 0.0
    monkeypatch.setattr(stage_module, "COLLAPSE_AFTER", 0)
    with torch.no_grad():
        for p in st.E.parameters():
            p.zero_()
    assert st.train_step(images(8, 1), None, 1)["collapse"] == 1.0
