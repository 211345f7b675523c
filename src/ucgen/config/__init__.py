"""Configuration: dataclass sections, presets in `configs/`, files and command-line overrides."""

from ucgen.config.loading import (
    load_config,
    load_saved_config,
    merge,
    preset_names,
    save_config,
    to_dict,
)
from ucgen.config.schema import (
    Config,
    DataConfig,
    DiffusionConfig,
    EvalConfig,
    SampleConfig,
    Stage1Config,
    TrainConfig,
)

__all__ = [
    "Config",
    "DataConfig",
    "DiffusionConfig",
    "EvalConfig",
    "SampleConfig",
    "Stage1Config",
    "TrainConfig",
    "load_config",
    "load_saved_config",
    "merge",
    "preset_names",
    "save_config",
    "to_dict",
]
