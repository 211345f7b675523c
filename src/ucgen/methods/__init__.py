"""Methods as choices of three parts: semantic encoder, condition sampler, pixel generator."""

from __future__ import annotations

from ucgen.errors import ConfigError
from ucgen.methods.method import Method, Parts, encode_dataset

__all__ = ["Method", "Parts", "encode_dataset", "get_method", "method_names"]


def _methods() -> dict[str, Method]:
    from ucgen.methods.baselines import LabelOracleMethod, UnconditionalMethod
    from ucgen.methods.cofi.method import CoFiUCGen

    return {m.name: m for m in (CoFiUCGen(), UnconditionalMethod(), LabelOracleMethod())}


def method_names() -> list[str]:
    return sorted(_methods())


def get_method(name: str) -> Method:
    """The method registered under `name` (train.method in the config)."""
    methods = _methods()
    if name not in methods:
        known = ", ".join(sorted(methods))
        raise ConfigError(f"unknown method '{name}': known methods are {known}")
    return methods[name]
