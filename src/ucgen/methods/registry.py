"""The methods `train.method` may name, each with its options section: the one list of them.

A method's implementation (its networks, stages and parts) is imported only when it is used, so
that loading a config or answering `--help` costs no torch import."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ucgen.config import Config, MethodOptions, build, read_file
from ucgen.config import load_config as _load_config
from ucgen.errors import ConfigError
from ucgen.methods.cofi.config import CoFiConfig
from ucgen.methods.rcg.config import RCGConfig

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ucgen.methods.method import Method


@dataclass(frozen=True)
class Registered:
    """A method: its name, its options dataclass (None: it has none), and where it lives."""

    name: str
    options: type | None
    implementation: str  # "module:Class"


REGISTRY = (
    Registered("cofi", CoFiConfig, "ucgen.methods.cofi.method:CoFiUCGen"),
    Registered("rcg", RCGConfig, "ucgen.methods.rcg.method:RCG"),
    Registered("uncond", None, "ucgen.methods.baselines:UnconditionalMethod"),
    Registered("labels", None, "ucgen.methods.baselines:LabelOracleMethod"),
)


def method_names() -> list[str]:
    return sorted(r.name for r in REGISTRY)


def method_options() -> MethodOptions:
    """Method name -> its options dataclass, as the config loader takes them."""
    return {r.name: r.options for r in REGISTRY}


def get_method(name: str) -> Method:
    """The method registered under `name` (train.method in the config)."""
    for entry in REGISTRY:
        if entry.name == name:
            module, cls = entry.implementation.split(":")
            return getattr(importlib.import_module(module), cls)()
    raise ConfigError(f"unknown method '{name}': known methods are {', '.join(method_names())}")


def load_config(
    preset: str | None = None,
    file: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> Config:
    """Defaults <- preset <- file <- overrides, validated, with every registered method's
    options (`ucgen.config.load_config`)."""
    return _load_config(method_options(), preset, file, overrides)


def load_saved_config(path: Path) -> Config:
    """A run's config.json. One written before methods had their own sections fails with a
    message saying how to convert it."""
    values = read_file(Path(path))
    if isinstance(values, dict) and "stage1" in values:
        raise ConfigError(
            f"{path} is from an older ucgen: rename its section 'stage1' to 'cofi' and move "
            "'prior' from 'sample' into it (for a cofi run; other methods: delete 'stage1')"
        )
    return build(method_options(), [("file", values)])
