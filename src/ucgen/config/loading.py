"""Build a `Config` from presets, files and `section.key=value` overrides, strictly.

Unknown sections or keys and values of the wrong type are errors that name the key; nothing
is silently dropped or fixed.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ucgen.config.schema import Config
from ucgen.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"


def preset_names() -> list[str]:
    """Names of the presets shipped in `configs/`."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


# The methods a config may name: method name -> its options dataclass (None: it has none).
# The method registry (`ucgen.methods.registry`) supplies it; this layer knows no method.
MethodOptions = Mapping[str, type | None]


def load_config(
    methods: MethodOptions,
    preset: str | None = None,
    file: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> Config:
    """Defaults <- preset <- file <- overrides, validated. Each layer may set any subset of keys.

    The selected method's options are the section named after it (`[cofi]`). A preset may hold
    sections of several methods (a recipe per method) and only the selected one applies; a file
    or an override that sets an option of a method that is not selected is refused."""
    layers: list[tuple[str, dict[str, Any]]] = []
    if preset is not None:
        path = PRESET_DIR / f"{preset}.toml"
        if not path.is_file():
            raise ConfigError(
                f"unknown preset '{preset}': known presets are {', '.join(preset_names())}"
            )
        layers.append(("preset", read_file(path)))
    if file is not None:
        layers.append(("file", read_file(Path(file))))
    layers += [("override", parse_override(item)) for item in overrides]
    return build(methods, layers)


def build(methods: MethodOptions, layers: Sequence[tuple[str, dict[str, Any]]]) -> Config:
    """A validated Config from the defaults and `layers` ((origin, {section: {key: value}}),
    applied in order; origin "preset" may carry sections of methods that are not selected)."""
    config = Config()
    for _, values in layers:
        _check_table(values)
        shared = {k: v for k, v in values.items() if k not in methods}
        config = merge(config, shared)
    name = config.train.method
    if name not in methods:
        known = ", ".join(sorted(methods))
        raise ConfigError(f"train.method: unknown method '{name}': known methods are {known}")
    options_class = methods[name]
    config = dataclasses.replace(config, method=None if options_class is None else options_class())
    for origin, values in layers:
        for section, table in values.items():
            if section not in methods:
                continue
            if section == name:
                if options_class is None:
                    raise ConfigError(f"config section '{section}': method {name} has no options")
                config = merge(config, {section: table})
            elif origin != "preset":
                key = next(iter(table), "") if isinstance(table, dict) else ""
                raise ConfigError(
                    f"{section}.{key}: an option of method {section}, but train.method is {name}"
                )
    return config.check()


def read_file(path: Path) -> dict[str, Any]:
    """A TOML or JSON config file as nested dicts."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        if path.suffix == ".json":
            return json.loads(path.read_text())
        with path.open("rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a valid config file ({err})") from None


def parse_override(item: str) -> dict[str, Any]:
    """'section.key=value' -> {section: {key: value}}; value parsed later by the key's type."""
    if "=" not in item:
        raise ConfigError(f"override '{item}' must look like section.key=value")
    dotted, value = item.split("=", 1)
    parts = dotted.strip().split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"override '{item}': the key must be section.key, got '{dotted}'")
    return {parts[0]: {parts[1]: _OverrideText(value.strip())}}


class _OverrideText(str):
    """A value typed on the command line: converted according to the key's declared type."""


def merge(config: Config, values: dict[str, Any]) -> Config:
    """A copy of `config` with `values` ({section: {key: value}}) applied, type-checked. The
    sections are the shared ones and the selected method's (`Config.sections`)."""
    _check_table(values)
    sections = config.sections()
    updates = {}
    for name, table in values.items():
        if name not in sections:
            raise ConfigError(
                f"unknown config section '{name}': known sections are {', '.join(sections)}"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"config section '{name}' must be a table of keys")
        section = sections[name]
        hints = typing.get_type_hints(type(section))
        known = {f.name for f in dataclasses.fields(section)}
        changes = {}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(
                    f"unknown config key '{name}.{key}': known keys are {', '.join(sorted(known))}"
                )
            changes[key] = _convert(value, hints[key], f"{name}.{key}")
        field_name = "method" if section is config.method else name
        updates[field_name] = dataclasses.replace(section, **changes)
    return dataclasses.replace(config, **updates)


def _check_table(values: Any) -> None:
    if not isinstance(values, dict):
        raise ConfigError("a config must be a table of sections")


def _convert(value: Any, hint: Any, key: str) -> Any:
    """Check (file values) or parse (override text) `value` against a type hint."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (
            value is None
            or (isinstance(value, _OverrideText) and value.lower() in ("none", "null"))
        ):
            return None
        errors = []
        for inner in (a for a in args if a is not type(None)):
            try:
                return _convert(value, inner, key)
            except ConfigError as error:
                errors.append(str(error).removeprefix(f"{key}: "))
        raise ConfigError(f"{key}: " + ", or ".join(errors))
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: must be one of {', '.join(map(str, args))}; got {value!r}")
        return str(value)
    if origin is tuple:
        if isinstance(value, _OverrideText):
            value = [v for v in value.strip("()[]").split(",") if v.strip()]
            value = [_OverrideText(v.strip()) for v in value]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: must be a list, got {value!r}")
        return tuple(_convert(v, args[0], key) for v in value)
    if hint is bool:
        if isinstance(value, _OverrideText):
            if value.lower() in ("true", "1", "yes", "on"):
                return True
            if value.lower() in ("false", "0", "no", "off"):
                return False
        elif isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, _OverrideText):
            try:
                return int(value)
            except ValueError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, _OverrideText):
            try:
                return float(value)
            except ValueError:
                pass
        elif isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return str(value)
        raise ConfigError(f"{key}: must be a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported type {hint}")


def to_dict(config: Config) -> dict[str, Any]:
    """Plain nested dicts (JSON-ready) of a config, each section under its name in files."""
    return {name: dataclasses.asdict(section) for name, section in config.sections().items()}


def to_json(config: Config) -> str:
    """The resolved config as the JSON text of a run's config.json."""
    return json.dumps(to_dict(config), indent=2) + "\n"
