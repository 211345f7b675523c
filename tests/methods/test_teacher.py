"""The coarse teacher: its autoencoder learns, its clustering finds kinds that are plain to
see, it answers the same after a save and load, and stage 1's bits learn its codes."""

import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from tests.methods.game import game_options
from ucgen.errors import ConfigError, UcgenError
from ucgen.io.checkpoint import load_component, save_component
from ucgen.methods.cofi.bitcodes import bit_ids
from ucgen.methods.cofi.stage import Stage1
from ucgen.methods.cofi.teacher import (
    AutoencoderStage,
    ManifoldTeacher,
    TeacherConfig,
    fit_teacher,
)


def four_kinds(n: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """n images (N, 1, 8, 8) of four kinds: a bar in one of four places, with noise."""
    g = torch.Generator().manual_seed(seed)
    kind = torch.arange(n) % 4
    x = torch.full((n, 1, 8, 8), -1.0)
    for k in range(4):
        rows = kind == k
        x[rows, :, 2 * k : 2 * k + 2, :] = 1.0
    return (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(-1, 1), kind.numpy()


def trained_autoencoder(images: torch.Tensor, steps: int = 150) -> AutoencoderStage:
    torch.manual_seed(0)
    stage = AutoencoderStage(steps, channels=1, resolution=images.shape[-1])
    gen = torch.Generator().manual_seed(0)
    for step in range(steps):
        stage.train_step(images[torch.randint(0, len(images), (64,), generator=gen)], None, step)
    return stage


@pytest.fixture(scope="module")
def data():
    return four_kinds(400)


@pytest.fixture(scope="module")
def autoencoder(data):
    return trained_autoencoder(data[0])


@pytest.fixture(scope="module")
def teacher(autoencoder, data):
    return fit_teacher(autoencoder.model, data[0], bits=2, seed=0)


def test_autoencoder_reconstruction_falls(data):
    images = data[0]
    untrained = AutoencoderStage(0, channels=1, resolution=8)
    before = untrained.train_step(images[:64], None, 0)["reconstruction"]
    after = trained_autoencoder(images).train_step(images[:64], None, 0)["reconstruction"]
    assert after < 0.3 * before
    preview = trained_autoencoder(images, steps=1).preview(torch.Generator())
    assert preview.shape == (16, 8, 8, 1) and preview.dtype == np.uint8


def test_teacher_codes_find_the_kinds(teacher, data):
    images, kind = data
    assert normalized_mutual_info_score(kind, teacher.codes.numpy()) > 0.9
    test, test_kind = four_kinds(200, seed=1)
    assert normalized_mutual_info_score(test_kind, teacher.code(test).numpy()) > 0.9
    # A training image's nearest image is itself, and its neighbours are of its kind.
    assert torch.equal(teacher.code(images), teacher.codes)


def test_teacher_is_deterministic_and_survives_save_and_load(teacher, autoencoder, data, tmp_path):
    again = fit_teacher(autoencoder.model, data[0], bits=2, seed=0)
    assert torch.equal(again.codes, teacher.codes)
    save_component(teacher, teacher.config, tmp_path / "teacher")
    loaded = load_component(ManifoldTeacher, TeacherConfig, tmp_path / "teacher")
    test, _ = four_kinds(50, seed=2)
    assert torch.equal(loaded.code(test), teacher.code(test))


def test_teacher_fit_keeps_torchs_thread_count(autoencoder, data, monkeypatch):
    """The first parallel call of UMAP's numba code sets torch's thread count to the core
    count (two 1-thread Fashion-MNIST benches then each ran a second busy thread, ~2x
    slower); the fit puts it back, whatever UMAP did."""
    import umap

    fit_transform = umap.UMAP.fit_transform

    def meddling(self, *args, **kwargs):
        torch.set_num_threads(2)
        return fit_transform(self, *args, **kwargs)

    monkeypatch.setattr(umap.UMAP, "fit_transform", meddling)
    torch.set_num_threads(1)  # as tests/conftest.py set it
    fit_teacher(autoencoder.model, data[0], bits=2, seed=0)
    assert torch.get_num_threads() == 1


def test_teacher_needs_enough_images(autoencoder, data):
    with pytest.raises(UcgenError, match="more than 16 training images to cluster into 16 codes"):
        fit_teacher(autoencoder.model, data[0][:10], bits=4, seed=0)


def test_teacher_without_umap_says_what_to_install(autoencoder, data, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap now raises ImportError
    with pytest.raises(UcgenError, match="pip install umap-learn"):
        fit_teacher(autoencoder.model, data[0], bits=2, seed=0)


def test_stage1_bits_learn_the_teachers_codes(data):
    """Only the teacher term (and the warm-up's encoder-only training): the encoder's codes
    must come to match the teacher's, which an untrained encoder's do not."""
    images, kind = data
    teacher = ManifoldTeacher(
        TeacherConfig({"pixels": 64, "hidden": [8], "embed_dim": 4}, 400, bits=2, votes=1)
    )
    teacher.points.copy_(teacher.embed(images))
    teacher.codes.copy_(torch.from_numpy(kind))  # knows the kinds of the training images
    torch.manual_seed(0)
    config = game_options(
        bits=2, fine_dim=4, width=8, batch_size=32, lr=1e-3, w_mutual=0.0, mi_warmup=200
    )
    config.teacher_steps = 1  # what makes the warm-up legal without the mutual term
    stage = Stage1(config, channels=1, resolution=8, teacher=teacher)

    def agreement() -> float:
        with torch.no_grad():
            return float((bit_ids(stage.E(images)[0]) == teacher.code(images)).float().mean())

    assert agreement() < 0.6
    gen = torch.Generator().manual_seed(0)
    for step in range(200):
        logs = stage.train_step(images[torch.randint(0, 400, (32,), generator=gen)], None, step)
    assert "teacher" in logs and "adv" not in logs  # the warm-up trains the encoder alone
    assert agreement() > 0.95


def test_warmup_needs_a_signal():
    with pytest.raises(ConfigError, match="needs w_mutual > 0 or a teacher"):
        game_options(w_mutual=0.0, mi_warmup=10).check()
    game_options(w_mutual=0.0, mi_warmup=10, teacher_steps=5).check()
    with pytest.raises(ConfigError, match="cofi.teacher_steps: must be >= 0"):
        game_options(teacher_steps=-1).check()
    with pytest.raises(ConfigError, match="for bits <= 8; got bits 9"):
        game_options(teacher_steps=5, bits=9).check()


def test_frozen_codes_stay_as_the_warmup_left_them(data):
    """With `freeze_codes`, the joint game after the warm-up trains G, D and E's fine head;
    E's trunk and coarse head (hence every image's bit-code) do not move."""
    images, _ = data
    torch.manual_seed(0)
    config = game_options(bits=2, fine_dim=4, width=8, batch_size=16, mi_warmup=2)
    config.freeze_codes = True
    stage = Stage1(config, channels=1, resolution=8)
    for step in range(2):
        stage.train_step(images[:16], None, step)
    with torch.no_grad():
        codes = stage.E_ema(images)[0]  # the EMA's codes are the ones frozen
    stage.train_step(images[16:32], None, 2)
    coarse = [p.clone() for p in [*stage.E.trunk.parameters(), *stage.E.coarse.parameters()]]
    fine = [p.clone() for p in stage.E.fine.parameters()]
    generator = [p.clone() for p in stage.G.parameters()]
    for step in range(3, 6):
        logs = stage.train_step(images[16:32], None, step)
    assert "adv" in logs  # the game is on
    after = [*stage.E.trunk.parameters(), *stage.E.coarse.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(coarse, after, strict=True))
    with torch.no_grad():
        assert torch.equal(stage.E(images)[0], codes)
        assert torch.equal(stage.E_ema(images)[0], codes)
    assert not all(torch.equal(a, b) for a, b in zip(fine, stage.E.fine.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(generator, stage.G.parameters(), strict=True))
    with pytest.raises(ConfigError, match="cofi.freeze_codes: needs mi_warmup > 0"):
        game_options(freeze_codes=True).check()


def ring_images(n: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """n images (N, 1, 12, 12) of a blob at a random angle on a circle: kinds on a ring."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.rand(n, generator=g) * 2 * np.pi
    yy, xx = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    cy, cx = 5.5 + 4 * torch.sin(theta), 5.5 + 4 * torch.cos(theta)
    d2 = (yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2
    return (2 * torch.exp(-d2 / 4.5)[:, None] - 1), theta.numpy()


def test_teacher_gives_bordering_kinds_codes_one_bit_apart():
    x, theta = ring_images(800)
    codes = fit_teacher(trained_autoencoder(x, steps=200).model, x, bits=3, seed=0).codes.numpy()
    # the 8 codes in the order of their mean angle around the ring
    angle = [np.angle(np.exp(1j * theta[codes == c]).mean()) for c in range(8)]
    around = np.argsort(angle)
    steps = [bin(around[i] ^ around[(i + 1) % 8]).count("1") for i in range(8)]
    assert steps == [1] * 8
