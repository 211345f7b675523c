import json

import pytest

from ucgen.config import Config, preset_names, to_json
from ucgen.errors import ConfigError
from ucgen.methods import load_config, load_saved_config


def test_presets_exist_and_load():
    assert {"tiny", "digits", "fmnist"} <= set(preset_names())
    for name in preset_names():
        assert isinstance(load_config(name), Config)
    assert load_config("tiny").data.source == "shapes"


def test_overrides_are_typed():
    c = load_config(
        "tiny",
        overrides=[
            "cofi.bits=3",
            "cofi.lr=1e-3",
            "diffusion.channel_mult=1,2,4",
            "data.resolution=none",
        ],
    )
    assert c.method.bits == 3
    assert c.method.lr == 1e-3
    assert c.diffusion.channel_mult == (1, 2, 4)
    assert c.data.resolution is None
    assert load_config("tiny", overrides=["train.method=uncond"]).method is None


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("cofi.nope=1", "unknown config key 'cofi.nope'"),
        ("nosection.bits=1", "unknown config section 'nosection'"),
        ("cofi.bits=four", "cofi.bits: must be an integer"),
        ("cofi.bits=0", "cofi.bits: must be in [1, 12]"),
        ("diffusion.drop_fine=1.5", "diffusion.drop_fine"),
        ("train.method=gan", "train.method: unknown method 'gan': known methods are cofi"),
        ("train.compile=fast", "train.compile: must be one of"),
        ("train.threads=-1", "train.threads: must be >= 0"),
        ("train.threads=many", "train.threads: must be an integer, got 'many', or must be one"),
        ("stage1bits", "section.key=value"),
        ("cofi.mi_heads=0", "cofi.mi_heads: must be in [1, 32], got 0"),
        ("cofi.mi_heads=-1", "cofi.mi_heads: must be in [1, 32], got -1"),
        ("cofi.mi_heads=1000", "cofi.mi_heads: must be in [1, 32], got 1000"),
        ("cofi.mi_heads=nan", "cofi.mi_heads: must be an integer, got 'nan'"),
        ("cofi.mi_heads=2.5", "cofi.mi_heads: must be an integer, got '2.5'"),
        ("cofi.mi_heads=true", "cofi.mi_heads: must be an integer, got 'true'"),
        ("cofi.mi_heads=", "cofi.mi_heads: must be an integer, got ''"),
    ],
)
def test_bad_overrides_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=None) as err:
        load_config("tiny", overrides=[override])
    assert needle in str(err.value)


def test_threads_take_a_count_or_auto():
    assert load_config("tiny", overrides=["train.threads=auto"]).train.threads == "auto"
    assert load_config("tiny", overrides=["train.threads=2"]).train.threads == 2


def test_unknown_preset_lists_known():
    with pytest.raises(ConfigError, match="known presets are .*tiny"):
        load_config("huge")


def test_file_layer_and_strictness(tmp_path):
    good = tmp_path / "c.toml"
    good.write_text("[cofi]\nbits = 5\n[sample]\nguidance = 2\n")
    c = load_config("tiny", good)
    assert c.method.bits == 5 and c.sample.guidance == 2.0
    bad = tmp_path / "b.toml"
    bad.write_text("[cofi]\nbits = 'x'\n")
    with pytest.raises(ConfigError, match="cofi.bits: must be an integer"):
        load_config(None, bad)
    broken = tmp_path / "x.toml"
    broken.write_text("[cofi\n")
    with pytest.raises(ConfigError, match="not a valid config file"):
        load_config(None, broken)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(None, tmp_path / "missing.toml")


def test_saved_config_round_trips(tmp_path):
    c = load_config("fmnist", overrides=["cofi.bits=3"])
    (tmp_path / "config.json").write_text(to_json(c))
    assert json.loads((tmp_path / "config.json").read_text())["cofi"]["bits"] == 3
    assert load_saved_config(tmp_path / "config.json") == c
