"""Components saved diffusers-style: a folder with `config.json` and `model.safetensors`.

No pickle is involved in model weights, so a downloaded checkpoint cannot run code. Loading
is strict: a missing, unexpected or misshapen tensor is a `CheckpointError` naming it.
Training state (optimizer, counters, RNG) is a plain dict loaded with `weights_only=True`.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ucgen.errors import CheckpointError
from ucgen.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

T = TypeVar("T")


def save_weights(module: torch.nn.Module | dict[str, torch.Tensor], path: Path) -> None:
    """Write a module's state dict (or a tensor dict) as safetensors, atomically."""
    state = module.state_dict() if isinstance(module, torch.nn.Module) else module
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp)))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file into CPU tensors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights not found: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Copy `state` into `module`, refusing any missing, unexpected or misshapen tensor."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        if unexpected:
            parts.append(
                f"unexpected {', '.join(unexpected[:5])}" + (" ..." if len(unexpected) > 5 else "")
            )
        raise CheckpointError(f"{source} does not match the model: {'; '.join(parts)}")
    for key, value in state.items():
        if own[key].shape != value.shape:
            raise CheckpointError(
                f"{source} does not match the model: '{key}' has shape {tuple(value.shape)} "
                f"in the checkpoint but {tuple(own[key].shape)} in the model"
            )
    module.load_state_dict(state, strict=True)


def save_component(module: torch.nn.Module, config: Any, folder: Path) -> None:
    """Save a module built from a dataclass config as folder/{config.json, model.safetensors}."""
    folder = Path(folder)
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    save_weights(module, folder / WEIGHTS_NAME)
    atomic_write_text(folder / CONFIG_NAME, json.dumps(cfg, indent=2) + "\n")


def read_component_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"no {CONFIG_NAME} in {folder}: not a saved component")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: invalid JSON ({err})") from None


def load_component(cls: type[T], config_cls: type, folder: Path) -> T:
    """Rebuild `cls(config_cls(**config.json))` and load its weights strictly."""
    folder = Path(folder)
    raw = read_component_config(folder)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise CheckpointError(f"{folder / CONFIG_NAME}: unknown keys {', '.join(unknown)}")
    raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    module = cls(config_cls(**raw))
    load_into(module, load_weights(folder / WEIGHTS_NAME), str(folder / WEIGHTS_NAME))
    return module


def save_state(state: dict[str, Any], path: Path) -> None:
    """Training state (plain dicts, tensors, numbers) via torch.save, atomically."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_state(path: Path) -> dict[str, Any]:
    """Training state written by `save_state`; `weights_only=True` so it cannot run code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"training state not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for a bad file
        detail = " ".join(str(err).split())  # torch's messages span lines
        raise CheckpointError(f"{path}: unreadable training state ({detail})") from None
