import dataclasses

import pytest
import torch

from ucgen.errors import CheckpointError, UcgenError
from ucgen.io.atomic import atomic_write, atomic_write_text
from ucgen.io.checkpoint import (
    load_component,
    load_state,
    load_weights,
    save_component,
    save_state,
)


@dataclasses.dataclass
class TinyConfig:
    features: int = 3
    sizes: tuple[int, ...] = (2, 2)


class Tiny(torch.nn.Module):
    def __init__(self, config: TinyConfig):
        super().__init__()
        self.lin = torch.nn.Linear(config.features, sum(config.sizes))


def test_component_round_trip(tmp_path):
    torch.manual_seed(0)
    model = Tiny(TinyConfig())
    save_component(model, TinyConfig(), tmp_path / "c")
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"config.json", "model.safetensors"}
    loaded = load_component(Tiny, TinyConfig, tmp_path / "c")
    x = torch.randn(4, 3)
    assert torch.equal(model.lin(x), loaded.lin(x))


def test_strict_load_names_the_mismatch(tmp_path):
    save_component(Tiny(TinyConfig()), TinyConfig(), tmp_path / "c")
    state = load_weights(tmp_path / "c" / "model.safetensors")
    other = Tiny(TinyConfig(features=5))
    from ucgen.io.checkpoint import load_into

    with pytest.raises(CheckpointError, match="'lin.weight' has shape"):
        load_into(other, state, "ckpt")
    state.pop("lin.bias")
    with pytest.raises(CheckpointError, match="missing lin.bias"):
        load_into(Tiny(TinyConfig()), state, "ckpt")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        load_component(Tiny, TinyConfig, tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_weights(tmp_path / "model.safetensors")
    (tmp_path / "state.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable training state"):
        load_state(tmp_path / "state.pt")


def test_state_round_trip_is_weights_only(tmp_path):
    state = {"step": 7, "opt": {"lr": 0.1}, "t": torch.arange(3)}
    save_state(state, tmp_path / "s.pt")
    back = load_state(tmp_path / "s.pt")
    assert back["step"] == 7 and torch.equal(back["t"], state["t"])


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "good")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UcgenError, match="cannot write"):
        atomic_write_text(blocker / "sub" / "f.txt", "x")


def test_disk_full_is_a_clear_error_and_keeps_old_file(tmp_path, monkeypatch):
    import errno
    import os

    target = tmp_path / "w.safetensors"
    atomic_write_text(target, "old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UcgenError, match="the disk is full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.safetensors"]
