"""Methods as choices of three parts: semantic encoder, condition sampler, pixel generator.

`ucgen.methods.registry` lists them with their options; `ucgen.methods.method` says what a
method is."""

from ucgen.methods.registry import (
    get_method,
    load_config,
    load_saved_config,
    method_names,
    method_options,
)

__all__ = ["get_method", "load_config", "load_saved_config", "method_names", "method_options"]
