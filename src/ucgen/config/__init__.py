"""Configuration: dataclass sections, presets in `configs/`, files and command-line overrides.

The sections every method shares live here; each method's own options are its own dataclass,
registered with the method (`ucgen.methods.registry`), which also loads whole configs."""

from ucgen.config.loading import (
    MethodOptions,
    build,
    load_config,
    merge,
    parse_override,
    preset_names,
    read_file,
    to_dict,
    to_json,
)
from ucgen.config.schema import (
    Config,
    DataConfig,
    DiffusionConfig,
    EvalConfig,
    SampleConfig,
    TrainConfig,
    check_choices,
    require,
)

__all__ = [
    "Config",
    "DataConfig",
    "DiffusionConfig",
    "EvalConfig",
    "MethodOptions",
    "SampleConfig",
    "TrainConfig",
    "build",
    "check_choices",
    "load_config",
    "merge",
    "parse_override",
    "preset_names",
    "read_file",
    "require",
    "to_dict",
    "to_json",
]
